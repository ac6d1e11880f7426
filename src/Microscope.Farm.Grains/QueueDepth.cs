using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Microscope.Farm.Grains;

/// <summary>
/// Waiting work items per priority and per set of required tags, as the jobs active on this silo
/// last reported them; the gauge is summed over silos by the metrics backend. The tags label is the
/// job's required tags, lower-cased, sorted and wrapped in commas (",gpu-h200,fp16,"; "," for none),
/// so that a pool's autoscaler selects the items it can serve with one regular expression over its
/// own tags: <c>microscope_required_tags=~",((gpu-h200|fp16),)*"</c>. One per silo (a singleton of
/// its services): several silos in one process (the test cluster) each report their own jobs.
/// </summary>
internal sealed class QueueDepth
{
    private readonly ConcurrentDictionary<string, (int Priority, string Tags, int Waiting)> jobs = new();

    public QueueDepth(IMeterFactory meters) =>
        meters.Create(FarmTelemetry.Name).CreateObservableGauge(
            "microscope.queue.depth", Observe, "{item}", "Work items waiting, per job priority and required tags.");

    public void Report(string job, int priority, IReadOnlyList<string> requiredTags, int waiting)
    {
        if (waiting == 0)
        {
            jobs.TryRemove(job, out _);
        }
        else
        {
            jobs[job] = (priority, Label(requiredTags), waiting);
        }
    }

    public void Forget(string job) => jobs.TryRemove(job, out _);

    /// <summary>The tags label: ",a,b," with the tags lower-cased, distinct and sorted; "," for none.</summary>
    public static string Label(IReadOnlyList<string> requiredTags) =>
        "," + string.Concat(requiredTags.Select(t => t.ToLowerInvariant()).Distinct().Order(StringComparer.Ordinal).Select(t => t + ","));

    /// <summary>What the gauge reports now: (priority, tags label, waiting items).</summary>
    internal IEnumerable<(int Priority, string Tags, int Waiting)> Snapshot() =>
        jobs.Values.GroupBy(j => (j.Priority, j.Tags)).Select(g => (g.Key.Priority, g.Key.Tags, g.Sum(j => j.Waiting)));

    private IEnumerable<Measurement<int>> Observe() =>
        Snapshot().Select(s => new Measurement<int>(s.Waiting,
            new KeyValuePair<string, object?>(FarmTelemetry.Tags.Priority, s.Priority),
            new KeyValuePair<string, object?>(FarmTelemetry.Tags.RequiredTags, s.Tags)));
}
