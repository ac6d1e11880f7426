using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microscope.Farm.Grains;

/// <summary>
/// One render job. Its <see cref="JobLedger"/> holds the logic; this grain persists it (at once on
/// every change of the job's state, at most every flush interval for completions), expires leases on
/// a timer, and tells the directory when the job's state or priority changes.
/// </summary>
internal sealed class JobGrain(
    [PersistentState("job", FarmStorageNames.Jobs)] IPersistentState<JobLedger> state,
    IOptions<SchedulingOptions> options,
    QueueDepth queueDepth,
    TimeProvider time,
    ILogger<JobGrain> logger) : Grain, IJobGrain
{
    private readonly SchedulingOptions options = options.Value;
    private bool dirty;
    private IGrainTimer? timer;
    private (JobState State, int Priority) told;

    private JobLedger Ledger => state.State;

    private DateTimeOffset Now => time.GetUtcNow();

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (Ledger.IsCreated)
        {
            Ledger.Restore(Now, options.LeaseDuration);
            told = (Ledger.State, Ledger.Spec!.Priority);
            StartTimer();
        }

        return Task.CompletedTask;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        queueDepth.Forget(this.GetPrimaryKeyString());
        await FlushAsync(quiet: true);
    }

    public async Task<JobStatus> CreateAsync(JobSpec spec, string modelVersion, IReadOnlyList<WorkItem> items)
    {
        if (!Ledger.IsCreated)
        {
            Ledger.Create(this.GetPrimaryKeyString(), spec, modelVersion, items, Now, Activity.Current?.Id);
            await state.WriteStateAsync();
            told = (Ledger.State, spec.Priority);
            StartTimer();
            logger.LogInformation("Job {Job}: {Items} work items for {Model} ({Lenses})", Ledger.Id, items.Count, spec.Model, string.Join(", ", items.Select(i => i.Lens).Distinct()));
        }

        return Ledger.Status(Now);
    }

    public Task<JobStatus> GetStatusAsync() => Task.FromResult(RequireCreated().Status(Now));

    public Task<IReadOnlyList<WorkLease>> LeaseAsync(WorkerInfo worker, int max)
    {
        if (!Ledger.IsCreated)
        {
            return Task.FromResult<IReadOnlyList<WorkLease>>([]);
        }

        var before = Ledger.LeaseExpirations;
        var leases = Ledger.Lease(worker, max, Now, options);
        CountExpirations(before);
        dirty |= leases.Count > 0;
        return Task.FromResult<IReadOnlyList<WorkLease>>(leases);
    }

    public Task<IReadOnlyList<Guid>> RenewAsync(string worker, IReadOnlyList<Guid> leases)
    {
        if (!Ledger.IsCreated)
        {
            return Task.FromResult<IReadOnlyList<Guid>>(leases);
        }

        var before = Ledger.LeaseExpirations;
        var lost = Ledger.Renew(worker, leases, Now, options);
        CountExpirations(before);
        return Task.FromResult<IReadOnlyList<Guid>>(lost);
    }

    public async Task CompleteAsync(Guid lease, string worker, WorkResult result)
    {
        RequireCreated();
        if (Ledger.Complete(lease, result.Rendered, Now))
        {
            dirty = true;
            await AfterChangeAsync();
        }
    }

    public async Task FailAsync(Guid lease, string worker, string error, bool retry)
    {
        RequireCreated();
        var outcome = Ledger.Fail(lease, worker, error, retry, Now, options);
        dirty = true;
        if (outcome == ItemStatus.Waiting)
        {
            FarmTelemetry.Retries.Add(1);
            logger.LogWarning("Job {Job}: an attempt failed on {Worker}, retrying: {Error}", Ledger.Id, worker, error);
        }
        else if (outcome == ItemStatus.Failed)
        {
            FarmTelemetry.ItemsFailed.Add(1);
            logger.LogError("Job {Job}: a work item failed for good on {Worker}: {Error}", Ledger.Id, worker, error);
        }

        await AfterChangeAsync();
    }

    public async Task ReleaseAsync(string worker, IReadOnlyList<Guid> leases)
    {
        if (Ledger.IsCreated && Ledger.Release(worker, leases) > 0)
        {
            dirty = true;
            await AfterChangeAsync();
        }
    }

    public Task<JobStatus> PauseAsync() => ChangeAsync(l => l.Pause());

    public Task<JobStatus> ResumeAsync() => ChangeAsync(l => l.Resume());

    public Task<JobStatus> CancelAsync() => ChangeAsync(l => l.Cancel(Now));

    public Task<JobStatus> SetPriorityAsync(int priority) => ChangeAsync(l => l.SetPriority(priority));

    private async Task<JobStatus> ChangeAsync(Action<JobLedger> change)
    {
        change(RequireCreated());
        dirty = true;
        await AfterChangeAsync();
        return Ledger.Status(Now);
    }

    /// <summary>A change of state or priority is written at once and told to the directory; completions wait for the timer.</summary>
    private async Task AfterChangeAsync()
    {
        var now = (Ledger.State, Ledger.Spec!.Priority);
        if (now == told)
        {
            return;
        }

        await FlushAsync(quiet: false);
        told = now;
        var counts = Ledger.Counts();
        queueDepth.Report(Ledger.Id, now.Priority, Ledger.Spec.RequiredTags, Ledger.IsFinished ? 0 : counts.Waiting);
        _ = GrainFactory.GetGrain<IJobDirectoryGrain>(0).JobChangedAsync(Ledger.Id, now.State, now.Priority, counts.Waiting);
        if (Ledger.IsFinished)
        {
            logger.LogInformation("Job {Job} {State}: {Done} done, {Failed} failed, {Renders} rendered", Ledger.Id, Ledger.State, counts.Done, counts.Failed, Ledger.Renders);
        }
    }

    private void StartTimer()
    {
        var period = TimeSpan.FromTicks(Math.Min(options.FlushInterval.Ticks, options.LeaseDuration.Ticks / 3));
        timer ??= this.RegisterGrainTimer(OnTimerAsync, new GrainTimerCreationOptions(period, period) { Interleave = false });
    }

    private async Task OnTimerAsync(CancellationToken cancellationToken)
    {
        var before = Ledger.LeaseExpirations;
        Ledger.ExpireLeases(Now, options);
        CountExpirations(before);
        if (!Ledger.IsFinished)
        {
            queueDepth.Report(Ledger.Id, Ledger.Spec!.Priority, Ledger.Spec.RequiredTags, Ledger.Counts().Waiting);
        }

        await AfterChangeAsync();
        await FlushAsync(quiet: true);
    }

    private void CountExpirations(long before)
    {
        if (Ledger.LeaseExpirations > before)
        {
            dirty = true;
            FarmTelemetry.LeaseExpirations.Add(Ledger.LeaseExpirations - before);
            logger.LogWarning("Job {Job}: {Count} lease(s) lapsed; their items are back in the queue", Ledger.Id, Ledger.LeaseExpirations - before);
        }
    }

    /// <summary>Writes the ledger when it changed. Quiet flushes (timer, deactivation) keep it dirty on a storage error and try again later.</summary>
    private async Task FlushAsync(bool quiet)
    {
        if (!dirty)
        {
            return;
        }

        try
        {
            dirty = false;
            await state.WriteStateAsync();
        }
        catch (Exception e) when (quiet)
        {
            dirty = true;
            logger.LogWarning(e, "Job {Job}: could not write its state yet; will try again", Ledger.Id);
        }
        catch
        {
            dirty = true;
            throw;
        }
    }

    private JobLedger RequireCreated() =>
        Ledger.IsCreated ? Ledger : throw new FarmNotFoundException($"there is no job '{this.GetPrimaryKeyString()}'.");
}
