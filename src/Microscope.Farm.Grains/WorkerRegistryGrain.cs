using Microsoft.Extensions.Options;

namespace Microscope.Farm.Grains;

[GenerateSerializer]
public sealed class WorkerRegistryState
{
    /// <summary>Silo names an operator drained.</summary>
    [Id(0)] public HashSet<string> DrainedSilos { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>
/// Who renders: the workers' last heartbeats (in memory: they come back within one heartbeat after
/// the grain moves) and the drained silos (persisted). A worker not heard from for the
/// <see cref="SchedulingOptions.WorkerSeenWindow"/> shows as not alive; after an hour it is dropped.
/// </summary>
internal sealed class WorkerRegistryGrain(
    [PersistentState("workers", FarmStorageNames.Index)] IPersistentState<WorkerRegistryState> state,
    IOptions<SchedulingOptions> scheduling,
    TimeProvider time) : Grain, IWorkerRegistryGrain
{
    private static readonly TimeSpan Forget = TimeSpan.FromHours(1);
    private readonly Dictionary<string, (WorkerReport Report, DateTimeOffset Seen)> workers = new(StringComparer.Ordinal);

    public Task<bool> HeartbeatAsync(WorkerReport report)
    {
        var now = time.GetUtcNow();
        workers[report.Info.Id] = (report, now);
        foreach (var gone in workers.Where(w => now - w.Value.Seen > Forget).Select(w => w.Key).ToList())
        {
            workers.Remove(gone);
        }

        return Task.FromResult(state.State.DrainedSilos.Contains(report.Info.Silo));
    }

    public Task<IReadOnlyList<WorkerView>> ListAsync() =>
        Task.FromResult<IReadOnlyList<WorkerView>>([.. workers.Values.Select(View).OrderBy(w => w.Info.Silo, StringComparer.Ordinal).ThenBy(w => w.Info.Id, StringComparer.Ordinal)]);

    public async Task<IReadOnlyList<WorkerView>> SetDrainingAsync(string siloOrWorker, bool draining)
    {
        var silo = workers.TryGetValue(siloOrWorker, out var worker) ? worker.Report.Info.Silo
            : workers.Values.Any(w => w.Report.Info.Silo == siloOrWorker) || state.State.DrainedSilos.Contains(siloOrWorker) ? siloOrWorker
            : throw new FarmNotFoundException($"no render worker or silo '{siloOrWorker}' has reported in the last hour; GET /api/workers lists them.");
        if (draining ? state.State.DrainedSilos.Add(silo) : state.State.DrainedSilos.Remove(silo))
        {
            await state.WriteStateAsync();
        }

        return [.. workers.Values.Where(w => w.Report.Info.Silo == silo).Select(View)];
    }

    private WorkerView View((WorkerReport Report, DateTimeOffset Seen) entry) => new(
        entry.Report.Info, entry.Report.Running, state.State.DrainedSilos.Contains(entry.Report.Info.Silo), entry.Report.Stopping,
        entry.Seen, time.GetUtcNow() - entry.Seen <= scheduling.Value.WorkerSeenWindow);
}
