namespace Microscope.Farm.Grains.Tests;

public class JobLedgerTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 28, 0, 0, 0, TimeSpan.Zero);
    private static readonly WorkResult Rendered = new([], true, 0.05, 0);
    private readonly SchedulingOptions options = Samples.Options;

    private static JobSpec Spec(int unitsPerItem = 2) => new() { Model = "tiny", Layers = ["conv1"], UnitsPerItem = unitsPerItem };

    [Fact]
    public void Leases_go_out_in_plan_order_and_the_job_completes()
    {
        var ledger = Samples.Ledger(Spec(1), T0);
        var a = ledger.Lease(Samples.Worker("a"), 3, T0, options);
        var b = ledger.Lease(Samples.Worker("b"), 3, T0, options);

        Assert.Equal([0, 1, 2], a.Select(l => l.Item.Index));
        Assert.Equal([3], b.Select(l => l.Item.Index));
        Assert.Equal(JobState.Running, ledger.State);
        Assert.Equal(new JobCounts(4, 0, 4, 0, 0), ledger.Counts());

        foreach (var lease in a.Concat(b))
        {
            Assert.True(ledger.Complete(lease.LeaseId, true, T0.AddSeconds(1)));
        }

        Assert.Equal(JobState.Completed, ledger.State);
        Assert.Equal(4, ledger.Renders);
        Assert.False(ledger.Complete(a[0].LeaseId, true, T0.AddSeconds(2)));
    }

    [Fact]
    public void A_lapsed_lease_puts_the_item_back_and_its_late_completion_still_counts()
    {
        var ledger = Samples.Ledger(Spec(), T0);
        var lease = ledger.Lease(Samples.Worker("a"), 1, T0, options)[0];

        var later = T0 + options.LeaseDuration + TimeSpan.FromSeconds(1);
        Assert.Equal([lease.LeaseId], ledger.Renew("a", [lease.LeaseId], later, options));
        Assert.Equal(1, ledger.LeaseExpirations);
        Assert.Equal(new JobCounts(2, 0, 0, 2, 0), ledger.Counts());

        var again = ledger.Lease(Samples.Worker("b"), 1, later, options)[0];
        Assert.Equal(lease.Item.Index, again.Item.Index);
        Assert.Equal(2, again.Attempt);

        // The first worker did finish: the item is done, and b's completion is a no-op (b found the outputs stored).
        Assert.True(ledger.Complete(lease.LeaseId, true, later));
        Assert.False(ledger.Complete(again.LeaseId, false, later));
        Assert.Equal(1, ledger.Counts().Done);
    }

    [Fact]
    public void Renewal_keeps_a_lease_alive_past_its_first_period()
    {
        var ledger = Samples.Ledger(Spec(), T0);
        var lease = ledger.Lease(Samples.Worker("a"), 1, T0, options)[0];
        var step = options.LeaseDuration / 2;
        for (var t = T0 + step; t < T0 + options.LeaseDuration * 4; t += step)
        {
            Assert.Empty(ledger.Renew("a", [lease.LeaseId], t, options));
        }

        Assert.Equal(0, ledger.LeaseExpirations);
        Assert.Empty(ledger.Renew("a", [lease.LeaseId], T0 + options.LeaseDuration * 4, options));
        Assert.Equal([lease.LeaseId], ledger.Renew("b", [lease.LeaseId], T0 + options.LeaseDuration * 4, options));
    }

    [Fact]
    public void An_item_that_keeps_lapsing_fails_after_the_attempt_limit_with_its_reason()
    {
        var ledger = Samples.Ledger(Spec(8), T0);
        var now = T0;
        for (var attempt = 1; attempt <= options.MaxAttempts; attempt++)
        {
            Assert.Single(ledger.Lease(Samples.Worker("w" + attempt), 1, now, options));
            now += options.LeaseDuration + TimeSpan.FromSeconds(1);
            ledger.ExpireLeases(now, options);
        }

        Assert.Equal(JobState.Failed, ledger.State);
        var failure = Assert.Single(ledger.Status(now).Failures);
        Assert.Contains("lapsed", failure.Error);
        Assert.Equal(3, failure.Attempts);
        Assert.Equal(["w1", "w2", "w3"], failure.Workers);
    }

    [Fact]
    public void A_failed_attempt_is_retried_on_another_worker()
    {
        var ledger = Samples.Ledger(Spec(8), T0);
        var a = Samples.Worker("a");
        var b = Samples.Worker("b");
        ledger.Lease(b, 0, T0, options);
        var first = ledger.Lease(a, 1, T0, options)[0];
        Assert.Equal(ItemStatus.Waiting, ledger.Fail(first.LeaseId, "a", "out of memory", retry: true, T0, options));

        Assert.Empty(ledger.Lease(a, 1, T0, options));
        var second = Assert.Single(ledger.Lease(b, 1, T0, options));
        Assert.Equal(first.Item.Index, second.Item.Index);
        Assert.Equal(1, ledger.Retries);
    }

    [Fact]
    public void With_no_other_worker_alive_the_same_worker_retries()
    {
        var ledger = Samples.Ledger(Spec(8), T0);
        var first = ledger.Lease(Samples.Worker("a"), 1, T0, options)[0];
        ledger.Fail(first.LeaseId, "a", "flaky", retry: true, T0, options);
        Assert.Single(ledger.Lease(Samples.Worker("a"), 1, T0, options));
    }

    [Fact]
    public void A_permanent_error_fails_the_item_at_once_and_is_listed()
    {
        var ledger = Samples.Ledger(Spec(8), T0);
        var lease = ledger.Lease(Samples.Worker("a"), 1, T0, options)[0];
        Assert.Equal(ItemStatus.Failed, ledger.Fail(lease.LeaseId, "a", "RenderInputException: no dataset 'x'", retry: false, T0, options));

        Assert.Equal(JobState.Failed, ledger.State);
        Assert.Equal("RenderInputException: no dataset 'x'", Assert.Single(ledger.Status(T0).Failures).Error);
    }

    [Fact]
    public void A_worker_that_keeps_failing_a_job_is_kept_off_it()
    {
        var ledger = Samples.Ledger(Spec(1), T0);
        var bad = Samples.Worker("bad");
        var good = Samples.Worker("good");
        ledger.Lease(good, 0, T0, options);
        for (var i = 0; i < options.WorkerFailuresBeforeExclusion; i++)
        {
            var lease = ledger.Lease(bad, 1, T0, options)[0];
            ledger.Fail(lease.LeaseId, "bad", "device error", retry: true, T0, options);
        }

        Assert.Empty(ledger.Lease(bad, 4, T0, options));
        Assert.Equal(4, ledger.Lease(good, 4, T0, options).Count);
    }

    [Fact]
    public void Handing_back_does_not_count_an_attempt()
    {
        var ledger = Samples.Ledger(Spec(8), T0);
        var lease = ledger.Lease(Samples.Worker("a"), 1, T0, options)[0];
        Assert.Equal(1, ledger.Release("a", [lease.LeaseId]));
        Assert.Equal(0, ledger.Release("a", [lease.LeaseId]));
        Assert.Equal(1, ledger.Lease(Samples.Worker("b"), 1, T0, options)[0].Attempt);
    }

    [Fact]
    public void A_merge_waits_for_its_shards_and_fails_when_one_fails()
    {
        var spec = new JobSpec { Model = "tiny", Layers = ["conv1"], Lenses = ["dataset-examples"], DatasetShards = 2 };
        var ledger = Samples.Ledger(spec, T0);
        var shards = ledger.Lease(Samples.Worker("a"), 5, T0, options);
        Assert.Equal([WorkKind.DatasetShard, WorkKind.DatasetShard], shards.Select(s => s.Item.Kind));

        ledger.Complete(shards[0].LeaseId, true, T0);
        Assert.Empty(ledger.Lease(Samples.Worker("a"), 5, T0, options));
        ledger.Fail(shards[1].LeaseId, "a", "unreadable", retry: false, T0, options);

        Assert.Equal(JobState.Failed, ledger.State);
        Assert.Contains(ledger.Status(T0).Failures, f => f.Error.Contains("which this one needs", StringComparison.Ordinal));
    }

    [Fact]
    public void Pause_resume_cancel_and_priority()
    {
        var ledger = Samples.Ledger(Spec(1), T0);
        var held = ledger.Lease(Samples.Worker("a"), 1, T0, options)[0];
        ledger.Pause();
        Assert.Empty(ledger.Lease(Samples.Worker("a"), 1, T0, options));
        Assert.True(ledger.Complete(held.LeaseId, true, T0));
        ledger.Resume();
        Assert.Equal(JobState.Running, ledger.State);
        var lease = ledger.Lease(Samples.Worker("a"), 1, T0, options)[0];

        ledger.SetPriority(7);
        Assert.Equal(7, ledger.Status(T0).Spec.Priority);
        ledger.Cancel(T0);
        Assert.Equal(JobState.Cancelled, ledger.State);
        Assert.Equal([lease.LeaseId], ledger.Renew("a", [lease.LeaseId], T0, options));
        Assert.Empty(ledger.Lease(Samples.Worker("a"), 1, T0, options));
    }

    [Fact]
    public void Required_tags_keep_other_workers_off()
    {
        var ledger = Samples.Ledger(Spec() with { RequiredTags = ["h200"] }, T0);
        Assert.Empty(ledger.Lease(Samples.Worker("cpu"), 4, T0, options));
        Assert.NotEmpty(ledger.Lease(Samples.Worker("gpu", "H200"), 4, T0, options));
    }

    [Fact]
    public void Leases_held_when_the_state_was_written_survive_a_reload()
    {
        var ledger = Samples.Ledger(Spec(1), T0);
        var lease = ledger.Lease(Samples.Worker("a"), 1, T0, options)[0];
        var done = ledger.Lease(Samples.Worker("a"), 1, T0, options)[0];
        ledger.Complete(done.LeaseId, true, T0);

        var copy = new JobLedger { Id = ledger.Id, Spec = ledger.Spec, ModelVersion = ledger.ModelVersion, Items = ledger.Items, Records = ledger.Records, State = ledger.State };
        var later = T0 + options.LeaseDuration * 2;
        copy.Restore(later, options.LeaseDuration);

        Assert.Empty(copy.Renew("a", [lease.LeaseId], later, options));
        Assert.True(copy.Complete(lease.LeaseId, true, later));
        Assert.Equal(new JobCounts(4, 2, 0, 2, 0), copy.Counts());
        Assert.Equal([2, 3], copy.Lease(Samples.Worker("b"), 4, later, options).Select(l => l.Item.Index));
    }

    [Fact]
    public void Eta_follows_the_recent_completion_rate()
    {
        var ledger = Samples.Ledger(Spec(1), T0);
        Assert.Null(ledger.Status(T0).EtaSeconds);
        var leases = ledger.Lease(Samples.Worker("a"), 2, T0, options);
        ledger.Complete(leases[0].LeaseId, true, T0);
        ledger.Complete(leases[1].LeaseId, true, T0.AddSeconds(1));

        // Two completions over two seconds: one a second; two items left.
        Assert.Equal(2, ledger.Status(T0.AddSeconds(2)).EtaSeconds!.Value, 3);

        // Paused, nothing is coming: no ETA (it would only grow), until resumed.
        ledger.Pause();
        Assert.Null(ledger.Status(T0.AddSeconds(60)).EtaSeconds);
        ledger.Resume();
        Assert.NotNull(ledger.Status(T0.AddSeconds(3)).EtaSeconds);
        _ = Rendered;
    }
}
