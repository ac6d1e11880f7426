using Microscope.Lenses;
using Microscope.Lenses.DatasetExamples;

namespace Microscope.Farm.Rendering;

/// <summary>
/// A dataset shard's scan as stored: images read, files skipped, and every unit's mergeable state
/// (top and bottom examples, running statistics, histogram).
/// </summary>
public sealed record DatasetShardFile(int Images, List<string> Skipped, List<UnitExamplesState> Units);

/// <summary>A layer's shards merged: what one scan of the whole dataset would have found.</summary>
public sealed record MergedExamples(int Images, IReadOnlyList<string> Skipped, IReadOnlyList<UnitExamples> Units);

/// <summary>
/// Dataset examples in the farm: a layer's dataset is scanned in shards (file i goes to shard
/// i mod n, so shards are even and need no listing of each other), each stored as mergeable state;
/// the merge adds the shards up exactly and renders each unit's examples as the CLI does.
/// </summary>
internal static class DatasetLens
{
    /// <summary>Scans this shard's files of <paramref name="folder"/> once through every layer the item names, each layer's state apart.</summary>
    public static IReadOnlyList<DatasetShardFile> Scan(LoadedModel model, WorkItem item, string folder, int batch, CancellationToken cancellationToken)
    {
        var files = DatasetScanner.Files(folder).Where((_, i) => i % item.Shards == item.Shard).ToList();
        var scan = DatasetScanner.Scan(model.Vision, [.. item.ScannedLayers.Select(model.Layer)], folder, files, model.ForwardSize, item.Options.Top, batch, model.Sessions, cancellation: cancellationToken);
        return [.. scan.Layers.Select(layer => new DatasetShardFile(scan.Images, [.. scan.Skipped], [.. layer.Units.Select(u => u.ToState())]))];
    }

    /// <summary>
    /// Adds shards up. Exact: top and bottom lists, counts, extremes and histograms equal one scan's;
    /// means and deviations agree to rounding. Skipped files are listed in the scan's (ordinal) order.
    /// </summary>
    public static MergedExamples Merge(IReadOnlyList<DatasetShardFile> shards, int units, int k)
    {
        var merged = Enumerable.Range(0, units).Select(_ => new UnitExamples(k)).ToArray();
        foreach (var (shard, s) in shards.Select((shard, s) => (shard, s)))
        {
            if (shard.Units.Count != units || shard.Units.Any(u => u.K != k))
            {
                throw new InvalidOperationException(
                    $"dataset shard {s + 1} of {shards.Count} holds {shard.Units.Count} units of top-{shard.Units.FirstOrDefault()?.K} examples, not {units} of top-{k}; delete the layer's shards and render them again.");
            }

            for (var u = 0; u < units; u++)
            {
                merged[u].Merge(UnitExamples.FromState(shard.Units[u]));
            }
        }

        return new MergedExamples(shards.Sum(s => s.Images), [.. shards.SelectMany(s => s.Skipped).Order(StringComparer.Ordinal)], merged);
    }

    /// <summary>
    /// Each of the item's units: its examples document, the mosaic of its top examples, and figures.
    /// Every example image is decoded once for all the item's units, and the mosaics are drawn and
    /// encoded in parallel.
    /// </summary>
    public static IReadOnlyList<RenderedLens> Render(LoadedModel model, WorkItem item, MergedExamples merged, ExampleImages images, CancellationToken cancellationToken = default)
    {
        var layer = model.Layer(item.Layer);
        var field = ReceptiveField.Of(model.Vision.Graph, layer.Tensor, model.ForwardSize);
        var mosaics = Mosaic.RenderAll(images, [.. item.Units.Select(u => merged.Units[u].Top)], field, cancellationToken);
        return [.. item.Units.Select((u, i) =>
        {
            var e = merged.Units[u];
            var quality = new Dictionary<string, double>
            {
                ["images"] = merged.Images,
                ["skipped"] = merged.Skipped.Count,
                ["mean"] = e.Mean,
                ["std"] = e.StandardDeviation,
                ["median"] = e.Quantile(0.5),
            };
            if (e.Top.Count > 0)
            {
                quality["topActivation"] = e.Top[0].Activation;
            }

            // A dataset with no readable image still gets a (black) picture, so the lens is complete.
            var png = e.Top.Count > 0 ? mosaics[i] : Png.Encode(new float[3 * 8 * 8], 8, 8);
            return new RenderedLens(u, png, quality, ExamplesDocument.Create(item.Model, item.Layer, u, e, field));
        })];
    }
}
