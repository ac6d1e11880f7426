using System.Collections.Concurrent;

namespace Microscope.Farm.Grains.Tests;

/// <summary>
/// A render engine for scheduling tests: takes a fixed time, records who rendered what, and fails
/// the items it is told to. It stands in for the lens library (tested on its own) so that these
/// tests are about grains and leases.
/// </summary>
internal sealed class ScriptedEngine(TimeSpan renderTime) : IRenderEngine
{
    public ConcurrentQueue<(WorkItem Item, string Worker)> Renders { get; } = new();

    /// <summary>Item index → how many attempts fail before one succeeds (int.MaxValue: always).</summary>
    public ConcurrentDictionary<int, int> Failures { get; } = new();

    /// <summary>Item index → the exception to throw.</summary>
    public Func<WorkItem, Exception>? Error { get; set; }

    public string CurrentWorker { get; set; } = "";

    /// <summary>The one dataset it claims (it reads no images).</summary>
    public IReadOnlyList<string> Datasets { get; } = ["scripted"];

    /// <summary>What an intake item does (a render silo's catalog, scripted); null: intake items are rendered like the rest.</summary>
    public Func<WorkItem, Task>? Intake { get; set; }

    public async Task<WorkResult> RenderAsync(WorkItem item, IProgress<int>? steps, CancellationToken cancellationToken)
    {
        if (item.Kind == WorkKind.Intake && Intake is { } intake)
        {
            await intake(item);
            return new WorkResult([], true, 0, 0);
        }

        await Task.Delay(renderTime, cancellationToken);
        Renders.Enqueue((item, Environment.CurrentManagedThreadId.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        if (Failures.TryGetValue(item.Index, out var left) && left > 0)
        {
            Failures[item.Index] = left - 1;
            throw Error?.Invoke(item) ?? new InvalidOperationException($"scripted failure of item {item.Index}");
        }

        steps?.Report(item.Options.Steps);
        var hash = item.Options.Hash();
        IReadOnlyList<LensRecord> lenses = item.Units.Count == 0
            ? [Record(item, -1, hash)]
            : [.. item.Units.Select(u => Record(item, u, hash))];
        return new WorkResult(lenses, true, renderTime.TotalSeconds, item.Options.Steps);
    }

    private static LensRecord Record(WorkItem item, int unit, string hash) =>
        new(item.Lens, unit, hash, $"models/{item.Model}/{item.ModelVersion}/layers/{item.Layer}/units/{unit}/{item.Lens}/{hash}.png", null,
            new Dictionary<string, double> { ["objectiveAfter"] = unit }, DateTimeOffset.UtcNow, item.Options, item.ModelVersion);
}
