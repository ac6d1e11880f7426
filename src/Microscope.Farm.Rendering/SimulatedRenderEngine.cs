using Microscope.Farm.Storage;
using Microscope.Lenses;
using Microsoft.Extensions.Logging;

namespace Microscope.Farm.Rendering;

/// <summary>
/// A simulated device: each item takes a fixed time and no CPU, then stores a small valid PNG and
/// its JSON per lens (an empty scan per dataset shard), exactly where the real engine would, with
/// the same skip-if-stored check and journal. For scheduling benchmarks and fault drills with many
/// silos on one machine. It reads no images: it claims the dataset names it is given.
/// </summary>
public sealed class SimulatedRenderEngine(ILensStore store, TimeSpan renderTime, string? journalFolder = null, ILogger<SimulatedRenderEngine>? logger = null, IReadOnlyList<string>? datasets = null)
    : StoredRenderEngine(store, journalFolder, logger)
{
    private readonly IReadOnlyList<string> datasets = datasets ?? [];

    public override IReadOnlyList<string> Datasets => datasets;

    protected override async Task<(IReadOnlyList<RenderedLens> Lenses, long Steps)> RenderLensesAsync(WorkItem item, IProgress<int>? steps, CancellationToken cancellationToken)
    {
        await Task.Delay(renderTime, cancellationToken);
        IReadOnlyList<int> units = item.Units.Count == 0 ? [-1] : item.Units;
        steps?.Report(item.Options.Steps);
        return ([.. units.Select(u => new RenderedLens(u, Swatch(u), new Dictionary<string, double> { ["simulated"] = 1 }))], item.Options.Steps);
    }

    protected override async Task<IReadOnlyList<DatasetShardFile>> ScanShardAsync(WorkItem item, CancellationToken cancellationToken)
    {
        await Task.Delay(renderTime, cancellationToken);
        return [.. item.ScannedLayers.Select(_ => new DatasetShardFile(0, [], []))];
    }

    /// <summary>An 8×8 swatch whose colour follows the unit, so different units are different images.</summary>
    private static byte[] Swatch(int unit)
    {
        var pixels = new float[3 * 8 * 8];
        for (var c = 0; c < 3; c++)
        {
            Array.Fill(pixels, ((unit + 1) * (c + 3) % 11) / 10f, c * 64, 64);
        }

        return Png.Encode(pixels, 8, 8);
    }
}
