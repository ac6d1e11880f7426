using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Microscope.Farm.Grains;

/// <summary>
/// The render slots of this process's workers, per device: the denominator of the device busy
/// fraction (rate of microscope.device.busy over this gauge) in dashboards and alerts.
/// </summary>
internal static class RenderSlots
{
    private static readonly ConcurrentDictionary<string, WorkerInfo> Workers = new();

    private static readonly ObservableGauge<int> Gauge = FarmTelemetry.Meter.CreateObservableGauge(
        "microscope.render.slots", Observe, "{slot}", "Render slots of the workers of this silo, per device.");

    public static void Add(WorkerInfo worker)
    {
        _ = Gauge;
        Workers[worker.Id] = worker;
    }

    public static void Remove(WorkerInfo worker) => Workers.TryRemove(worker.Id, out _);

    private static IEnumerable<Measurement<int>> Observe() =>
        Workers.Values.GroupBy(w => w.Device)
            .Select(g => new Measurement<int>(g.Sum(w => w.Slots), new KeyValuePair<string, object?>(FarmTelemetry.Tags.Device, g.Key)));
}
