namespace Microscope.Farm.Grains.Tests;

[Collection(FarmClusterCollection.Name)]
public class JobClusterTests(FarmClusterFixture farm)
{
    private IJobDirectoryGrain Directory => farm.Client.GetGrain<IJobDirectoryGrain>(0);

    private List<WorkItem> RendersOf(string job) => [.. farm.Engine.Renders.Where(r => r.Item.Job == job).Select(r => r.Item)];

    [Fact]
    public async Task A_job_of_every_unit_of_a_layer_stores_one_lens_per_unit_and_lens()
    {
        var job = await Directory.SubmitAsync(new JobSpec { Model = "tiny", Layers = ["conv2"], Lenses = ["featurevis", "negative"], UnitsPerItem = 2 });
        var done = await farm.WaitAsync(job.Id, s => s.IsFinished);

        Assert.Equal(JobState.Completed, done.State);
        Assert.Equal(new JobCounts(6, 6, 0, 0, 0), done.Counts);
        Assert.Equal(6, RendersOf(job.Id).Count);
        Assert.Equal(6, RendersOf(job.Id).Select(i => i.Index).Distinct().Count());
        for (var unit = 0; unit < 6; unit++)
        {
            var state = await farm.Client.GetGrain<IUnitGrain>(FarmIds.Unit("tiny", "conv2", unit)).GetAsync();
            Assert.Equal(["featurevis", "negative"], state.Lenses.Select(l => l.Lens).Order());
        }

        var layer = await farm.Client.GetGrain<ILayerGrain>(FarmIds.Layer("tiny", "conv2")).GetAsync();
        Assert.Equal(6, layer.UnitLenses.Count);
        Assert.All(layer.UnitLenses.Values, l => Assert.Equal(2, l.Count));
    }

    [Fact]
    public async Task A_slot_renders_its_next_item_while_the_last_one_is_still_being_reported()
    {
        // Reports held back for a second each: a worker that waited for its reports would have rendered
        // one item per slot (4 in all) before the first report got through.
        var slots = farm.Workers.Sum(w => w.Info.Slots);
        var renderedBeforeFirstReport = -1;
        string? jobId = null;
        farm.LayerRecordDelay = TimeSpan.FromSeconds(1);
        farm.LayerRecordReleased = () => Interlocked.CompareExchange(ref renderedBeforeFirstReport, RendersOf(jobId ?? "").Count, -1);
        try
        {
            var job = await Directory.SubmitAsync(new JobSpec { Model = "tiny", Layers = ["conv2"], Lenses = ["featurevis", "negative"], UnitsPerItem = 1 });
            jobId = job.Id;
            var done = await farm.WaitAsync(job.Id, s => s.IsFinished);

            Assert.Equal(JobState.Completed, done.State);
            Assert.Equal(12, RendersOf(job.Id).Count);
            Assert.Equal(2 * slots, renderedBeforeFirstReport);
        }
        finally
        {
            farm.LayerRecordDelay = TimeSpan.Zero;
            farm.LayerRecordReleased = null;
        }
    }

    [Fact]
    public async Task Submitting_twice_with_one_client_token_is_one_job()
    {
        var spec = new JobSpec { Model = "tiny", Layers = ["logits"], ClientToken = "retry-me-" + Guid.NewGuid() };
        var first = await Directory.SubmitAsync(spec);
        var second = await Directory.SubmitAsync(spec);
        var other = await Directory.SubmitAsync(spec with { ClientToken = "another-" + Guid.NewGuid() });

        Assert.Equal(first.Id, second.Id);
        Assert.NotEqual(first.Id, other.Id);
        await farm.WaitAsync(first.Id, s => s.IsFinished);
        await farm.WaitAsync(other.Id, s => s.IsFinished);
        Assert.Single(RendersOf(first.Id));
    }

    [Fact]
    public async Task Pause_holds_the_work_and_resume_finishes_it()
    {
        var job = await Directory.SubmitAsync(new JobSpec { Model = "tiny", Layers = ["conv1", "conv2"], UnitsPerItem = 1 });
        var paused = await farm.Client.GetGrain<IJobGrain>(job.Id).PauseAsync();
        Assert.Equal(JobState.Paused, paused.State);

        await Task.Delay(300);
        var held = await farm.WaitAsync(job.Id, s => s.Counts.Running == 0);
        await Task.Delay(300);
        Assert.Equal(held.Counts.Done, (await farm.Client.GetGrain<IJobGrain>(job.Id).GetStatusAsync()).Counts.Done);
        Assert.True(held.Counts.Waiting > 0);

        await farm.Client.GetGrain<IJobGrain>(job.Id).ResumeAsync();
        var done = await farm.WaitAsync(job.Id, s => s.IsFinished);
        Assert.Equal(JobState.Completed, done.State);
        Assert.Equal(10, RendersOf(job.Id).Count);
    }

    [Fact]
    public async Task Cancel_stops_the_job_and_nothing_more_is_rendered()
    {
        // Reports held back: the workers render at most one item per slot ahead of their reports
        // (8 of the 13), so the cancel lands mid-job however fast or loaded the machine is.
        farm.LayerRecordDelay = TimeSpan.FromSeconds(1);
        try
        {
            var job = await Directory.SubmitAsync(new JobSpec { Model = "tiny", Layers = ["conv1", "conv2", "logits"], UnitsPerItem = 1 });
            await FarmClusterFixture.EventuallyAsync(() => Task.FromResult(RendersOf(job.Id).Count >= 1), "the first render");
            var cancelled = await farm.Client.GetGrain<IJobGrain>(job.Id).CancelAsync();
            Assert.Equal(JobState.Cancelled, cancelled.State);

            await Task.Delay(1500);
            var count = RendersOf(job.Id).Count;
            await Task.Delay(500);
            Assert.Equal(count, RendersOf(job.Id).Count);
            Assert.True(count < 13, $"{count} of 13 items rendered after cancel");
            Assert.DoesNotContain(job.Id, await Directory.ActiveJobsAsync(Samples.Worker("any")));
        }
        finally
        {
            farm.LayerRecordDelay = TimeSpan.Zero;
        }
    }

    [Fact]
    public async Task Higher_priority_goes_first()
    {
        foreach (var worker in farm.Workers)
        {
            worker.Drain();
        }

        try
        {
            await Task.Delay(200);
            var low = await Directory.SubmitAsync(new JobSpec { Model = "tiny", Layers = ["conv1"], UnitsPerItem = 1, Priority = 0 });
            var high = await Directory.SubmitAsync(new JobSpec { Model = "tiny", Layers = ["conv2"], UnitsPerItem = 1, Priority = 5 });
            Assert.Equal([high.Id, low.Id], (await Directory.ActiveJobsAsync(Samples.Worker("any"))).Where(j => j == high.Id || j == low.Id));
            var before = farm.Engine.Renders.Count;

            foreach (var worker in farm.Workers)
            {
                worker.Undrain();
            }

            await farm.WaitAsync(low.Id, s => s.IsFinished);
            var order = farm.Engine.Renders.Skip(before).Select(r => r.Item.Job).Where(j => j == high.Id || j == low.Id).ToList();

            // Four slots in all: the first items of the low job can start only once the high job has none waiting.
            var lastHigh = order.LastIndexOf(high.Id);
            Assert.Equal(6, order.Count(j => j == high.Id));
            Assert.True(order.IndexOf(low.Id) > lastHigh - 4, string.Join(" ", order.Select(j => j == high.Id ? "H" : "L")));
        }
        finally
        {
            foreach (var worker in farm.Workers)
            {
                worker.Undrain();
            }
        }
    }

    [Fact]
    public async Task Silos_drained_through_the_worker_registry_take_no_work_until_undrained()
    {
        var registry = farm.Client.GetGrain<IWorkerRegistryGrain>(0);
        var silos = farm.Workers.Select(w => w.Info.Silo).ToList();
        await FarmClusterFixture.EventuallyAsync(async () => (await registry.ListAsync()).Count(w => w.Alive) == silos.Count, "both workers to report");
        var listed = await registry.ListAsync();
        Assert.All(listed, w => Assert.Equal("cpu", w.Info.Device));
        Assert.All(listed, w => Assert.False(w.Draining));
        await Assert.ThrowsAsync<FarmNotFoundException>(() => registry.SetDrainingAsync("no-such-silo", true));

        try
        {
            foreach (var silo in silos)
            {
                Assert.All(await registry.SetDrainingAsync(silo, true), w => Assert.True(w.Draining));
            }

            await FarmClusterFixture.EventuallyAsync(() => Task.FromResult(farm.Workers.All(w => w.Draining && w.Running == 0)), "the workers to drain");
            var job = await Directory.SubmitAsync(new JobSpec { Model = "tiny", Layers = ["conv2"], UnitsPerItem = 1 });
            await Task.Delay(500);
            Assert.Empty(RendersOf(job.Id));
            Assert.Equal(6, (await farm.Client.GetGrain<IJobGrain>(job.Id).GetStatusAsync()).Counts.Waiting);

            await registry.SetDrainingAsync(silos[0], false);
            var done = await farm.WaitAsync(job.Id, s => s.IsFinished);
            Assert.Equal(JobState.Completed, done.State);
            Assert.True(farm.Workers.Single(w => w.Info.Silo == silos[1]).Draining);
        }
        finally
        {
            foreach (var silo in silos)
            {
                await registry.SetDrainingAsync(silo, false);
            }

            await FarmClusterFixture.EventuallyAsync(() => Task.FromResult(farm.Workers.All(w => !w.Draining)), "the workers to undrain");
        }
    }

    [Fact]
    public async Task Quotas_refuse_a_caller_past_its_unfinished_jobs_or_items_a_day_but_never_a_retried_submission()
    {
        foreach (var worker in farm.Workers)
        {
            worker.Drain();
        }

        var owner = "quota-" + Guid.NewGuid().ToString("N")[..6];
        try
        {
            var spec = new JobSpec { Model = "tiny", Layers = ["conv2"], UnitsPerItem = 1, Owner = owner, ClientToken = "q1" };
            var first = await Directory.SubmitWithinQuotaAsync(spec, new JobQuota(1, 0));
            Assert.Equal(first.Id, (await Directory.SubmitWithinQuotaAsync(spec, new JobQuota(1, 0))).Id);
            var refused = await Assert.ThrowsAsync<FarmQuotaException>(() => Directory.SubmitWithinQuotaAsync(spec with { ClientToken = "q2" }, new JobQuota(1, 0)));
            Assert.Contains("1 unfinished jobs", refused.Message);
            await Directory.SubmitWithinQuotaAsync(spec with { ClientToken = "other", Owner = owner + "-other" }, new JobQuota(1, 0));

            var perDay = await Assert.ThrowsAsync<FarmQuotaException>(() => Directory.SubmitWithinQuotaAsync(spec with { ClientToken = "q3" }, new JobQuota(0, 10)));
            Assert.Contains("submitted 6 work items in the last 24 hours; this job's 6 would pass its quota of 10", perDay.Message);
            await farm.Client.GetGrain<IJobGrain>(first.Id).CancelAsync();
            await Directory.SubmitWithinQuotaAsync(spec with { ClientToken = "q4", Layers = ["logits"] }, new JobQuota(1, 10));
        }
        finally
        {
            foreach (var worker in farm.Workers)
            {
                worker.Undrain();
            }
        }
    }

    [Fact]
    public async Task A_failing_item_is_retried_and_a_permanent_error_is_listed()
    {
        // Scripted: the next job's only item fails once, then succeeds; the one after fails with a bad request.
        var retryJob = await SubmitWithFailures(new JobSpec { Model = "tiny", Layers = ["conv2"], Lenses = ["deepdream"] }, attempts: 1, permanent: false);
        var done = await farm.WaitAsync(retryJob, s => s.IsFinished);
        Assert.Equal(JobState.Completed, done.State);
        Assert.Equal(1, done.Retries);

        var badJob = await SubmitWithFailures(new JobSpec { Model = "tiny", Layers = ["logits"], Lenses = ["deepdream"] }, attempts: int.MaxValue, permanent: true);
        var failed = await farm.WaitAsync(badJob, s => s.IsFinished);
        Assert.Equal(JobState.Failed, failed.State);
        var failure = Assert.Single(failed.Failures);
        Assert.Contains("FarmInputException: no such dataset", failure.Error);
        Assert.Equal(1, failure.Attempts);
        farm.Engine.Failures.Clear();
    }

    private async Task<string> SubmitWithFailures(JobSpec spec, int attempts, bool permanent)
    {
        foreach (var worker in farm.Workers)
        {
            worker.Drain();
        }

        try
        {
            var job = await Directory.SubmitAsync(spec);
            farm.Engine.Error = permanent ? _ => new FarmInputException("no such dataset") : null;
            farm.Engine.Failures.Clear();
            farm.Engine.Failures[0] = attempts;
            return job.Id;
        }
        finally
        {
            foreach (var worker in farm.Workers)
            {
                worker.Undrain();
            }
        }
    }
}
