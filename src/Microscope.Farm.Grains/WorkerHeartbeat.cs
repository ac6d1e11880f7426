using Microsoft.Extensions.Logging;

namespace Microscope.Farm.Grains;

/// <summary>
/// Keeps a render worker known to the worker registry: reports it (load, draining) every interval,
/// and learns from each answer whether an operator drained its silo.
/// </summary>
internal sealed class WorkerHeartbeat(IGrainFactory grains, TimeProvider time, ILogger logger)
{
    private volatile bool drainedByOperator;

    /// <summary>An operator drained the worker's silo through the registry (as of the last answer).</summary>
    public bool DrainedByOperator => drainedByOperator;

    /// <summary>Reports once; <paramref name="undrained"/> runs when the operator has just undrained the silo.</summary>
    public async Task BeatAsync(WorkerReport report, Action undrained)
    {
        try
        {
            var drain = await grains.GetGrain<IWorkerRegistryGrain>(0).HeartbeatAsync(report);
            if (drain != drainedByOperator)
            {
                drainedByOperator = drain;
                if (drain)
                {
                    RenderWorker.LogDraining(logger, report.Info.Id, report.Running);
                }
                else
                {
                    RenderWorker.LogUndrained(logger, report.Info.Id);
                    undrained();
                }
            }
        }
        catch (Exception e)
        {
            RenderWorker.LogHeartbeatFailed(logger, e, report.Info.Id);
        }
    }

    /// <summary>Reports every <paramref name="interval"/> until stopped.</summary>
    public async Task LoopAsync(TimeSpan interval, Func<WorkerReport> report, Action undrained, CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(interval, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            await BeatAsync(report(), undrained);
        }
    }
}
