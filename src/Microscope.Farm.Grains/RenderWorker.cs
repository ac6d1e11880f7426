using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microscope.Farm.Grains;

/// <summary>
/// A render silo's worker: pulls work items from the jobs that have work for it (highest priority
/// first), renders each in one of its slots under a lease it renews while working, and reports the
/// outcome. On shutdown or drain it stops taking work and hands back what it holds.
/// </summary>
public sealed partial class RenderWorker(
    IGrainFactory grains,
    IRenderEngine engine,
    IOptions<RenderWorkerOptions> workerOptions,
    IOptions<SchedulingOptions> schedulingOptions,
    WorkerIdentity identity,
    RenderSlots slots,
    TimeProvider time,
    ILogger<RenderWorker> logger) : BackgroundService
{
    private readonly RenderWorkerOptions options = workerOptions.Value;
    private readonly TimeSpan leaseDuration = schedulingOptions.Value.LeaseDuration;
    private readonly ConcurrentDictionary<Guid, Held> held = new();
    private readonly SemaphoreSlim slotFreed = new(0);
    private int rendering;
    private readonly ActiveJobs active = new(grains, time);
    private readonly WorkerHeartbeat heartbeat = new(grains, time, logger);
    /// <summary>UTC ticks until which the worker takes no work (a storage outage): written by render tasks, read by the poll loop, so as one atomic long.</summary>
    private long pausedUntilTicks;
    private volatile bool draining;

    public WorkerInfo Info { get; } = new(identity.Id, identity.Silo, workerOptions.Value.Device, [.. workerOptions.Value.Tags], workerOptions.Value.Slots, engine.Datasets);

    /// <summary>Items held now: being rendered, or rendered and being reported.</summary>
    public int Running => held.Count;

    /// <summary>
    /// Slots free to start a render. A slot is free again as soon as its render returns: the item is
    /// reported in the background while the slot renders the next one (its lease stays held and
    /// renewed until the job accepts the outcome). At most one report per slot is in flight, so a
    /// slow job grain holds the worker back instead of piling up finished work.
    /// </summary>
    private int FreeSlots => Math.Min(options.Slots - Volatile.Read(ref rendering), 2 * options.Slots - held.Count);

    /// <summary>Taking no more work: stopping, drained here, or drained by an operator through the worker registry.</summary>
    public bool Draining => draining || heartbeat.DrainedByOperator;

    /// <summary>Takes no more work; running items finish and are reported as usual.</summary>
    public void Drain()
    {
        draining = true;
        LogDraining(logger, Info.Id, held.Count);
    }

    public void Undrain() => draining = false;

    private WorkerReport Report() => new(Info, held.Count, draining);

    /// <summary>An operator undrained the silo: poll at once.</summary>
    private void Undrained() => slotFreed.Release();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        LogStarted(logger, Info.Id, Info.Device, Info.Slots, string.Join(",", Info.Tags));
        slots.Add(Info);
        await heartbeat.BeatAsync(Report(), Undrained);
        var renewals = RenewLoopAsync(stoppingToken);
        var heartbeats = heartbeat.LoopAsync(options.HeartbeatInterval, Report, Undrained, stoppingToken);
        var idle = options.PollInterval;
        while (!stoppingToken.IsCancellationRequested)
        {
            var leased = 0;
            try
            {
                var free = FreeSlots;
                if (free > 0 && !Draining && time.GetUtcNow().UtcTicks >= Interlocked.Read(ref pausedUntilTicks))
                {
                    leased = await LeaseAsync(free, stoppingToken);
                }
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                LogPollFailed(logger, e, Info.Id);
            }

            if (leased > 0)
            {
                idle = options.PollInterval;
                continue;
            }

            try
            {
                await slotFreed.WaitAsync(FreeSlots <= 0 ? Timeout.InfiniteTimeSpan : idle, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            idle = TimeSpan.FromTicks(Math.Min(idle.Ticks * 2, options.MaxPollInterval.Ticks));
        }

        await renewals.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await heartbeats.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        slots.Remove(Info);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        draining = true;
        await base.StopAsync(cancellationToken);
        await HandBackAsync(cancellationToken);
    }

    /// <summary>Cancels running renders, gives them a grace period, and hands back every lease still held.</summary>
    private async Task HandBackAsync(CancellationToken cancellationToken)
    {
        foreach (var item in held.Values)
        {
            item.Cancel.Cancel();
        }

        var start = time.GetTimestamp();
        while (!held.IsEmpty && time.GetElapsedTime(start) < options.ShutdownGrace && !cancellationToken.IsCancellationRequested)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(50), time, CancellationToken.None);
        }

        var leftovers = held.Values.Concat(handBack.Values).GroupBy(h => h.Lease.Item.Job).ToList();
        foreach (var job in leftovers)
        {
            try
            {
                await grains.GetGrain<IJobGrain>(job.Key).ReleaseAsync(Info.Id, [.. job.Select(h => h.Lease.LeaseId)]);
                LogHandedBack(logger, Info.Id, job.Count(), job.Key);
            }
            catch (Exception e)
            {
                LogHandBackFailed(logger, e, Info.Id, job.Key);
            }
        }
    }

    private readonly ConcurrentDictionary<Guid, Held> handBack = new();

    private async Task<int> LeaseAsync(int free, CancellationToken stoppingToken)
    {
        var leased = 0;
        foreach (var job in await active.ForAsync(Info))
        {
            var leases = await grains.GetGrain<IJobGrain>(job).LeaseAsync(Info, free - leased);
            foreach (var lease in leases)
            {
                var item = new Held(lease, CancellationTokenSource.CreateLinkedTokenSource(stoppingToken));
                held[lease.LeaseId] = item;
                Interlocked.Increment(ref rendering);
                _ = Task.Run(() => RunAsync(item), CancellationToken.None);
            }

            leased += leases.Count;
            if (leased >= free)
            {
                break;
            }
        }

        if (leased == 0)
        {
            active.Invalidate();
        }

        return leased;
    }

    private async Task RunAsync(Held item)
    {
        var lease = item.Lease;
        var work = lease.Item;
        var job = grains.GetGrain<IJobGrain>(work.Job);
        ActivityContext.TryParse(lease.TraceParent, null, out var parent);
        using var activity = FarmTelemetry.Source.StartActivity($"render {work.Lens}", ActivityKind.Consumer, parent);
        activity?.SetTag(FarmTelemetry.Tags.Job, work.Job)
            .SetTag(FarmTelemetry.Tags.Model, work.Model)
            .SetTag(FarmTelemetry.Tags.Layer, work.Layer)
            .SetTag(FarmTelemetry.Tags.Lens, work.Lens)
            .SetTag(FarmTelemetry.Tags.Unit, string.Join(",", work.Units))
            .SetTag(FarmTelemetry.Tags.Silo, Info.Silo)
            .SetTag(FarmTelemetry.Tags.Device, Info.Device);
        var watch = Stopwatch.StartNew();
        var deviceTags = new TagList { { FarmTelemetry.Tags.Device, Info.Device }, { FarmTelemetry.Tags.Lens, work.Lens } };
        var slotHeld = true;
        try
        {
            var result = await engine.RenderAsync(work, new StepCounter(deviceTags), item.Cancel.Token);
            var seconds = watch.Elapsed.TotalSeconds;
            FreeSlot(ref slotHeld, seconds);
            if (result.Lenses.Count > 0)
            {
                await Retry(() => grains.GetGrain<ILayerGrain>(FarmIds.Layer(work.Model, work.Layer)).RecordAsync(result.Lenses));
            }

            await Retry(() => job.CompleteAsync(lease.LeaseId, Info.Id, result));
            if (result.Rendered)
            {
                FarmTelemetry.LensesRendered.Add(result.Lenses.Count, deviceTags);
                FarmTelemetry.RenderSeconds.Record(seconds, deviceTags);
            }
        }
        catch (OperationCanceledException) when (item.Cancel.IsCancellationRequested)
        {
            // The lease was lost, the job stopped, or the silo is shutting down: whoever holds the item now finishes it.
            if (draining)
            {
                handBack[lease.LeaseId] = item;
            }
        }
        catch (Exception e)
        {
            activity?.SetStatus(ActivityStatusCode.Error, e.Message);
            FreeSlot(ref slotHeld, watch.Elapsed.TotalSeconds);
            await ReportFailureAsync(job, item, e);
        }
        finally
        {
            FreeSlot(ref slotHeld, watch.Elapsed.TotalSeconds);
            held.TryRemove(lease.LeaseId, out _);
            item.Cancel.Dispose();
            slotFreed.Release();
        }
    }

    /// <summary>The render is over (done, failed or stopped): its slot may start the next one while this item is reported.</summary>
    private void FreeSlot(ref bool slotHeld, double busySeconds)
    {
        if (!slotHeld)
        {
            return;
        }

        slotHeld = false;
        FarmTelemetry.DeviceBusySeconds.Add(busySeconds, new TagList { { FarmTelemetry.Tags.Device, Info.Device } });
        Interlocked.Decrement(ref rendering);
        slotFreed.Release();
    }

    private async Task ReportFailureAsync(IJobGrain job, Held item, Exception e)
    {
        var lease = item.Lease;
        var kind = WorkErrors.Classify(e);
        try
        {
            if (kind == WorkErrorKind.StorageOutage)
            {
                Interlocked.Exchange(ref pausedUntilTicks, (time.GetUtcNow() + options.StoragePause).UtcTicks);
                LogStorageOutage(logger, Info.Id, lease.Item.Describe(), options.StoragePause.TotalSeconds, e.Message);
                await Retry(() => job.ReleaseAsync(Info.Id, [lease.LeaseId]));
                return;
            }

            LogRenderFailed(logger, e, Info.Id, lease.Item.Describe(), kind == WorkErrorKind.Permanent ? "for good" : "will be retried");
            await Retry(() => job.FailAsync(lease.LeaseId, Info.Id, $"{e.GetType().Name}: {e.Message}", kind == WorkErrorKind.Retry));
        }
        catch (Exception report)
        {
            // The lease will lapse and the item go back; nothing is lost.
            LogReportFailed(logger, report, Info.Id, lease.Item.Describe());
        }
    }

    private async Task RenewLoopAsync(CancellationToken stoppingToken)
    {
        var period = leaseDuration / 3;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(period, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            foreach (var job in held.Values.GroupBy(h => h.Lease.Item.Job).ToList())
            {
                try
                {
                    var lost = await grains.GetGrain<IJobGrain>(job.Key).RenewAsync(Info.Id, [.. job.Select(h => h.Lease.LeaseId)]);
                    foreach (var id in lost)
                    {
                        if (held.TryGetValue(id, out var item))
                        {
                            LogLeaseLost(logger, Info.Id, item.Lease.Item.Describe());
                            await item.Cancel.CancelAsync();
                        }
                    }
                }
                catch (Exception e)
                {
                    LogRenewFailed(logger, e, Info.Id, job.Key);
                }
            }
        }
    }

    /// <summary>Grain calls after a render are retried briefly: the job may be moving to another silo.</summary>
    private async Task Retry(Func<Task> call)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await call();
                return;
            }
            catch (Exception) when (attempt < 5)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt), time);
            }
        }
    }

    private sealed record Held(WorkLease Lease, CancellationTokenSource Cancel);

    private sealed class StepCounter(TagList tags) : IProgress<int>
    {
        public void Report(int value) => FarmTelemetry.OptimizationSteps.Add(value, tags);
    }
}
