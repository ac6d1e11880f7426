using System.Text.Json;
using Microscope.Farm.Storage;
using Microscope.Lenses.DatasetExamples;

namespace Microscope.Farm.Rendering;

/// <summary>
/// Dataset examples: the layer's shards (scanned by the engine, see <see cref="DatasetLens.Scan"/>)
/// merged exactly, then the item's units rendered. The layer's statistics are stored first: the
/// units' JSON, stored last by the engine, then means the whole merge is done.
/// </summary>
internal sealed class DatasetExamplesLens : ILensRenderer
{
    public LensKind Lens => FarmLenses.DatasetExamples;

    /// <summary>Where a dataset merge stores the layer's statistics (every unit), beside the layer's shards.</summary>
    public static string StatisticsPath(WorkItem item) =>
        LensPaths.LayerLens(item.Model, item.ModelVersion, item.Layer, FarmLenses.DatasetExamples.Name, item.Options.For(FarmLenses.DatasetExamples).Hash(), "json");

    public async Task<IReadOnlyList<RenderedLens>> RenderAsync(LensRender render)
    {
        var (model, item, cancellationToken) = (render.Model, render.Item, render.Cancellation);
        var store = render.Services.Store ?? throw new InvalidOperationException("a dataset merge reads its shards from the lens store.");
        var folder = render.Services.DatasetFolder(item.Options.Dataset);
        var shards = new List<DatasetShardFile>();
        for (var s = 0; s < item.Shards; s++)
        {
            var path = LensPaths.DatasetShard(item.Model, item.ModelVersion, item.Layer, item.Options.Hash(), s, item.Shards);
            var blob = await store.GetAsync(path, cancellationToken)
                ?? throw new InvalidOperationException($"dataset shard {s + 1} of {item.Shards} is missing ({path}); the merge waits for its shards, so it was deleted: render the job again.");
            shards.Add(JsonSerializer.Deserialize<DatasetShardFile>(blob.Content.Span, LensDocument.Json)!);
        }

        var merged = DatasetLens.Merge(shards, model.Layer(item.Layer).Units, item.Options.Top);
        var statistics = LayerStatistics.Create(item.Model, item.Layer, merged.Images, merged.Skipped, merged.Units);
        await store.PutIfAbsentAsync(StatisticsPath(item), JsonSerializer.SerializeToUtf8Bytes(statistics, LensDocument.Json), ContentTypes.Json, cancellationToken);
        return DatasetLens.Render(model, item, merged, ExampleImages.InFolder(folder, model.ForwardSize), cancellationToken);
    }
}
