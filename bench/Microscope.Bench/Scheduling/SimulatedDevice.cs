using System.Collections.Concurrent;
using System.Diagnostics;
using Microscope.Farm;

namespace Microscope.Bench.Scheduling;

/// <summary>
/// One silo's simulated device: a render takes a fixed time and no CPU (a GPU the silo waits on),
/// then reports one lens per unit of the item, as the real engine does, so the layer and unit grains
/// get their real traffic. Nothing is stored. It also notes how long each slot stood idle between
/// renders, which is the scheduling overhead seen from the device. Without <c>records</c> (an
/// ablation, not the farm) it reports no lenses, so the worker leaves the layer and unit grains alone.
/// </summary>
internal sealed class SimulatedDevice(TimeSpan renderTime, RenderLog log, bool records = true) : IRenderEngine
{
    /// <summary>When renders ended, oldest first: a starting render takes the slot that has waited longest.</summary>
    private readonly ConcurrentQueue<long> freed = new();

    public async Task<WorkResult> RenderAsync(WorkItem item, IProgress<int>? steps, CancellationToken cancellationToken)
    {
        var start = Stopwatch.GetTimestamp();
        if (freed.TryDequeue(out var end))
        {
            log.Gap(end, start);
        }

        await Task.Delay(renderTime, cancellationToken);
        var hash = item.Options.Hash();
        IReadOnlyList<LensRecord> lenses = !records ? []
            : item.Units.Count == 0
            ? [Record(item, -1, hash)]
            : [.. item.Units.Select(u => Record(item, u, hash))];
        var done = Stopwatch.GetTimestamp();
        log.Rendered(start, done);
        freed.Enqueue(done);
        return new WorkResult(lenses, true, renderTime.TotalSeconds, item.Options.Steps);
    }

    /// <summary>The lens record a real render of this unit would report.</summary>
    public static LensRecord Record(WorkItem item, int unit, string hash) =>
        new(item.Lens, unit, hash, $"models/{item.Model}/{item.ModelVersion}/layers/{item.Layer}/units/{unit}/{item.Lens}/{hash}.png", null,
            new Dictionary<string, double> { ["simulated"] = 1 }, DateTimeOffset.UtcNow, item.Options, item.ModelVersion);
}

/// <summary>Every silo's renders and idle gaps since the last <see cref="Reset"/>.</summary>
internal sealed class RenderLog
{
    private readonly Lock gate = new();
    private readonly List<double> gaps = [];
    private readonly List<double> renders = [];
    private long since = Stopwatch.GetTimestamp();

    /// <summary>Starts a measurement: what ended before now (the warm-up) no longer counts.</summary>
    public void Reset()
    {
        lock (gate)
        {
            gaps.Clear();
            renders.Clear();
            since = Stopwatch.GetTimestamp();
        }
    }

    /// <summary>
    /// A slot freed at <paramref name="end"/> began its next render at <paramref name="start"/>. Slots
    /// are matched in the order they freed, so the mean gap is exact and its quantiles close.
    /// </summary>
    public void Gap(long end, long start)
    {
        lock (gate)
        {
            if (end >= since)
            {
                gaps.Add(Stopwatch.GetElapsedTime(end, start).TotalMilliseconds);
            }
        }
    }

    public void Rendered(long start, long end)
    {
        lock (gate)
        {
            if (start >= since)
            {
                renders.Add(Stopwatch.GetElapsedTime(start, end).TotalMilliseconds);
            }
        }
    }

    /// <summary>Gap quantiles and the mean time a render really took (the timer adds its own lateness).</summary>
    public (double GapP50, double GapP99, double GapMean, double RenderMean) Summary()
    {
        lock (gate)
        {
            var sorted = gaps.Order().ToArray();
            return (Quantile(sorted, 0.50), Quantile(sorted, 0.99), sorted.DefaultIfEmpty().Average(), renders.DefaultIfEmpty().Average());
        }
    }

    private static double Quantile(double[] sorted, double q) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Floor(q * sorted.Length))];
}
