using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Microscope.Farm.Grains;

/// <summary>
/// The render slots of this silo's workers, per device: the denominator of the device busy fraction
/// (rate of microscope.device.busy over this gauge) in dashboards and alerts. One per silo (a
/// singleton of its services), so silos sharing a process never count each other's slots.
/// </summary>
public sealed class RenderSlots
{
    private readonly ConcurrentDictionary<string, WorkerInfo> workers = new();

    public RenderSlots(IMeterFactory meters) =>
        meters.Create(FarmTelemetry.Name).CreateObservableGauge(
            "microscope.render.slots", Observe, "{slot}", "Render slots of the workers of this silo, per device.");

    public void Add(WorkerInfo worker) => workers[worker.Id] = worker;

    public void Remove(WorkerInfo worker) => workers.TryRemove(worker.Id, out _);

    /// <summary>What the gauge reports now: slots per device.</summary>
    internal IEnumerable<(string Device, int Slots)> Snapshot() =>
        workers.Values.GroupBy(w => w.Device).Select(g => (g.Key, g.Sum(w => w.Slots)));

    private IEnumerable<Measurement<int>> Observe() =>
        Snapshot().Select(s => new Measurement<int>(s.Slots, new KeyValuePair<string, object?>(FarmTelemetry.Tags.Device, s.Device)));
}
