using System.Text.Json;
using Microscope.Farm.Storage;
using Microscope.Lenses.DatasetExamples;
using Microscope.Lenses.Tuning;
using Microsoft.Extensions.Logging;

namespace Microscope.Farm.Rendering;

/// <summary>
/// Renders work items with the lens library: feature visualizations (channel, neuron, negative,
/// diversity), DeepDream and caricatures of layers, tuning curves, and dataset examples as shards
/// merged exactly. Renders run on the thread pool; cancellation stops them between steps. Several
/// render slots may call at once: the loaded models they share are read-only.
/// </summary>
public sealed class LensRenderEngine(ILensStore store, ModelCache models, RenderEngineOptions options, ILogger<LensRenderEngine>? logger = null)
    : StoredRenderEngine(store, options.JournalFolder, logger)
{
    /// <summary>Made with the engine, at the silo's start: its memory reading is the one the render slots share.</summary>
    private readonly RenderPasses passes = new(options, models, logger);

    /// <summary>Where a dataset merge stores the layer's statistics (every unit), beside the layer's shards.</summary>
    public static string StatisticsPath(WorkItem item) =>
        LensPaths.LayerLens(item.Model, item.ModelVersion, item.Layer, FarmLenses.DatasetExamples.Name, item.Options.For(item.Lens).Hash(), "json");

    protected override async Task<(IReadOnlyList<RenderedLens> Lenses, long Steps)> RenderLensesAsync(WorkItem item, IProgress<int>? steps, CancellationToken cancellationToken)
    {
        if (item.Kind == WorkKind.DatasetMerge)
        {
            return (await MergeAsync(item, cancellationToken), 0);
        }

        var model = await models.GetAsync(item.Model, item.ModelVersion, cancellationToken);
        return await Task.Run(() => Render(model, item, new StepCounter(steps), cancellationToken), cancellationToken);
    }

    protected override async Task<DatasetShardFile> ScanShardAsync(WorkItem item, CancellationToken cancellationToken)
    {
        var folder = Dataset(item.Options.Dataset);
        var model = await models.GetAsync(item.Model, item.ModelVersion, cancellationToken);
        return await Task.Run(() => DatasetLens.Scan(model, item, folder, options.ScanBatch, cancellationToken), cancellationToken);
    }

    private (IReadOnlyList<RenderedLens>, long) Render(LoadedModel model, WorkItem item, StepCounter steps, CancellationToken cancellationToken) => item.Lens switch
    {
        "featurevis" or "neuron" or "negative" or "diversity" => (GradientLenses.FeatureVisualizations(model, item, passes, steps, cancellationToken), steps.Total),
        "deepdream" => ([GradientLenses.DeepDream(model, item, steps, cancellationToken)], steps.Total),
        "caricature" => ([GradientLenses.Caricature(model, item, steps, cancellationToken)], steps.Total),
        "tuning" => (Tuning(model, item), 0),
        _ => throw new RenderInputException($"the lens engine cannot render '{item.Lens}' as a {item.Kind} item."),
    };

    /// <summary>Each unit's tuning curve to the item's stimulus family: the plot, the curve as data, the peak as figures.</summary>
    private static IReadOnlyList<RenderedLens> Tuning(LoadedModel model, WorkItem item)
    {
        var family = StimulusFamily.Get(item.Options.Family);
        var points = family.Points();
        var curves = TuningCurves.Measure(model.Vision, model.Layer(item.Layer), item.Units, family, model.ForwardSize, model.Sessions);
        return [.. curves.Select(c =>
        {
            var (peak, at) = c.Peak(points);
            var quality = new Dictionary<string, double> { ["peak"] = peak, ["mean"] = c.Responses.Average() };
            for (var i = 0; i < family.Axes.Count; i++)
            {
                quality["peakAt." + family.Axes[i].Name] = at[i];
            }

            return new RenderedLens(c.Unit, Plots.Render(c), quality, c);
        })];
    }

    /// <summary>
    /// Merges every shard of the layer and renders the item's units. The layer's statistics are
    /// stored first: the units' JSON, stored last, then means the whole merge is done.
    /// </summary>
    private async Task<IReadOnlyList<RenderedLens>> MergeAsync(WorkItem item, CancellationToken cancellationToken)
    {
        var folder = Dataset(item.Options.Dataset);
        var model = await models.GetAsync(item.Model, item.ModelVersion, cancellationToken);
        var shards = new List<DatasetShardFile>();
        for (var s = 0; s < item.Shards; s++)
        {
            var path = LensPaths.DatasetShard(item.Model, item.ModelVersion, item.Layer, item.Options.Hash(), s, item.Shards);
            var blob = await Store.GetAsync(path, cancellationToken)
                ?? throw new InvalidOperationException($"dataset shard {s + 1} of {item.Shards} is missing ({path}); the merge waits for its shards, so it was deleted: render the job again.");
            shards.Add(JsonSerializer.Deserialize<DatasetShardFile>(blob.Content.Span, LensDocument.Json)!);
        }

        var merged = DatasetLens.Merge(shards, model.Layer(item.Layer).Units, item.Options.Top);
        var statistics = LayerStatistics.Create(item.Model, item.Layer, merged.Images, merged.Skipped, merged.Units);
        await Store.PutIfAbsentAsync(StatisticsPath(item), JsonSerializer.SerializeToUtf8Bytes(statistics, LensDocument.Json), ContentTypes.Json, cancellationToken);
        return await Task.Run(() => DatasetLens.Render(model, item, merged, folder), cancellationToken);
    }

    private string Dataset(string name) =>
        options.Datasets.TryGetValue(name, out var folder) && Directory.Exists(folder)
            ? folder
            : throw new RenderInputException($"this render silo has no dataset '{name}'; configure Farm:Engine:Datasets:{name} with a folder of images (known: {string.Join(", ", options.Datasets.Keys.DefaultIfEmpty("none"))}).");
}
