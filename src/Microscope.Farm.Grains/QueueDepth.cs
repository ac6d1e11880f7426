using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Microscope.Farm.Grains;

/// <summary>
/// Waiting work items per priority, as the jobs active on this silo last reported them; the gauge
/// is summed over silos by the metrics backend.
/// </summary>
internal static class QueueDepth
{
    private static readonly ConcurrentDictionary<string, (int Priority, int Waiting)> Jobs = new();

    private static readonly ObservableGauge<int> Gauge = FarmTelemetry.Meter.CreateObservableGauge(
        "microscope.queue.depth", Observe, "{item}", "Work items waiting, per job priority.");

    public static void Report(string job, int priority, int waiting)
    {
        _ = Gauge;
        if (waiting == 0)
        {
            Jobs.TryRemove(job, out _);
        }
        else
        {
            Jobs[job] = (priority, waiting);
        }
    }

    public static void Forget(string job) => Jobs.TryRemove(job, out _);

    private static IEnumerable<Measurement<int>> Observe() =>
        Jobs.Values.GroupBy(j => j.Priority)
            .Select(g => new Measurement<int>(g.Sum(j => j.Waiting), new KeyValuePair<string, object?>(FarmTelemetry.Tags.Priority, g.Key)));
}
