using System.Globalization;
using System.Text.Json;
using Microscope.Farm.Storage;
using Microscope.Inference;
using Microscope.Lenses;
using Microscope.Lenses.DatasetExamples;
using Microscope.Lenses.Tuning;
using Microscope.Optvis;
using Microscope.Optvis.Transforms;

namespace Microscope.Farm.Rendering;

/// <summary>
/// Renders work items with the lens library: feature visualizations (channel, neuron, negative,
/// diversity), DeepDream and caricatures of layers, tuning curves, and dataset examples as shards
/// merged exactly. Renders run on the thread pool; cancellation stops them between steps.
/// </summary>
public sealed class LensRenderEngine(ILensStore store, ModelCache models, RenderEngineOptions options) : StoredRenderEngine(store, options.JournalFolder)
{
    protected override async Task<(IReadOnlyList<RenderedLens> Lenses, long Steps)> RenderLensesAsync(WorkItem item, IProgress<int>? steps, CancellationToken cancellationToken)
    {
        var model = await models.GetAsync(item.Model, item.ModelVersion, cancellationToken);
        if (item.Kind == WorkKind.DatasetMerge)
        {
            return (await MergeAsync(model, item, cancellationToken), 0);
        }

        return await Task.Run(() => Render(model, item, steps, cancellationToken), cancellationToken);
    }

    private static (IReadOnlyList<RenderedLens>, long) Render(LoadedModel model, WorkItem item, IProgress<int>? steps, CancellationToken cancellationToken)
    {
        var layer = model.Layer(item.Layer);
        var o = item.Options;
        var render = new RenderOptions { Steps = o.Steps, Size = o.Size, Seed = o.Seed, Fourier = o.Fourier, Transforms = o.Transforms ? null : TransformPipeline.None };
        var counter = new StepCounter(steps);
        switch (item.Lens)
        {
            case "featurevis" or "neuron" or "negative" or "diversity":
            {
                var diversity = item.Lens == "diversity";
                var renders = FeatureVisualization.Render(model.Vision, layer, item.Units, item.Lens, render, diversity ? o.DiversityImages : item.Units.Count, model.Sessions,
                    new Progress3(counter), cancellationToken);
                var lenses = renders.GroupBy(r => r.Unit).Select(g =>
                {
                    var images = g.OrderBy(r => r.Index).ToList();
                    var png = images.Count == 1 ? images[0].ToPng() : Png.Sheet([.. images.Select(r => r.Image)], o.Size, o.Size, images.Count);
                    return new RenderedLens(g.Key, png, new Dictionary<string, double>
                    {
                        ["objectiveBefore"] = images.Average(r => r.StartObjective),
                        ["objectiveAfter"] = images.Average(r => r.FinalObjective),
                        ["objectiveUnderTransforms"] = images.Average(r => r.RobustObjective),
                        ["transformDraws"] = Renderer.RobustnessDraws,
                    });
                }).ToList();
                return (lenses, counter.Total);
            }

            case "deepdream":
            {
                var size = Math.Max(o.Size, model.Vision.Spec.RenderSize ?? 0);
                var picture = LayerLenses.DeepDream(model.Vision, layer, null, size, new DreamOptions { StepsPerOctave = o.Steps, Seed = o.Seed }, model.Sessions, counter, cancellationToken);
                return ([new RenderedLens(-1, Png.Encode(picture, size, size), new Dictionary<string, double> { ["size"] = size })], counter.Total);
            }

            case "caricature":
            {
                var result = LayerLenses.Caricature(model.Vision, layer, null, render, model.Sessions, counter, cancellationToken);
                return ([new RenderedLens(-1, Png.Encode(result.Images, o.Size, o.Size), new Dictionary<string, double>
                {
                    ["objectiveBefore"] = result.StartObjective[0],
                    ["objectiveAfter"] = result.FinalObjective[0],
                })], counter.Total);
            }

            case "tuning":
            {
                var family = StimulusFamily.Get(o.Family);
                var points = family.Points();
                var curves = TuningCurves.Measure(model.Vision, layer, item.Units, family, model.ForwardSize, model.Sessions);
                return ([.. curves.Select(c =>
                {
                    var (peak, at) = c.Peak(points);
                    var quality = new Dictionary<string, double> { ["peak"] = peak, ["mean"] = c.Responses.Average() };
                    for (var i = 0; i < family.Axes.Count; i++)
                    {
                        quality["peakAt." + family.Axes[i].Name] = at[i];
                    }

                    return new RenderedLens(c.Unit, Plots.Render(c), quality, c);
                })], 0);
            }

            default:
                throw new RenderInputException($"the lens engine has no lens '{item.Lens}'.");
        }
    }

    protected override async Task<WorkResult> ShardAsync(WorkItem item, IProgress<int>? steps, CancellationToken cancellationToken)
    {
        var path = LensPaths.DatasetShard(item.Model, item.ModelVersion, item.Layer, item.Options.Hash(), item.Shard, item.Shards);
        if (await Store.ExistsAsync(path, cancellationToken))
        {
            return new WorkResult([], false, 0, 0);
        }

        var model = await models.GetAsync(item.Model, item.ModelVersion, cancellationToken);
        var folder = Dataset(item.Options.Dataset);
        var shard = await Task.Run(() =>
        {
            var files = DatasetScanner.Files(folder).Where((_, i) => i % item.Shards == item.Shard).ToList();
            var scan = DatasetScanner.Scan(model.Vision, [model.Layer(item.Layer)], folder, files, model.ForwardSize, item.Options.Top, options.ScanBatch, model.Sessions, cancellation: cancellationToken);
            return new DatasetShardFile(scan.Images, [.. scan.Skipped], [.. scan.Layers[0].Units.Select(u => u.ToState())]);
        }, cancellationToken);
        await Store.PutIfAbsentAsync(path, JsonSerializer.SerializeToUtf8Bytes(shard, LensDocument.Json), ContentTypes.Json, cancellationToken);
        Journal(item);
        return new WorkResult([], true, 0, 0);
    }

    /// <summary>Merges every shard of the layer (exactly: the result equals one unsharded scan) and renders each unit's examples.</summary>
    private async Task<IReadOnlyList<RenderedLens>> MergeAsync(LoadedModel model, WorkItem item, CancellationToken cancellationToken)
    {
        var folder = Dataset(item.Options.Dataset);
        var layer = model.Layer(item.Layer);
        var field = ReceptiveField.Of(model.Vision.Graph, layer.Tensor, model.ForwardSize);
        var merged = Enumerable.Range(0, layer.Units).Select(_ => new UnitExamples(item.Options.Top)).ToArray();
        int images = 0, skipped = 0;
        for (var s = 0; s < item.Shards; s++)
        {
            var path = LensPaths.DatasetShard(item.Model, item.ModelVersion, item.Layer, item.Options.Hash(), s, item.Shards);
            var blob = await Store.GetAsync(path, cancellationToken) ?? throw new InvalidOperationException($"dataset shard {s + 1} of {item.Shards} is missing ({path}).");
            var shard = JsonSerializer.Deserialize<DatasetShardFile>(blob.Content.Span, LensDocument.Json)!;
            images += shard.Images;
            skipped += shard.Skipped.Count;
            for (var u = 0; u < merged.Length; u++)
            {
                merged[u].Merge(UnitExamples.FromState(shard.Units[u]));
            }
        }

        return await Task.Run(() => item.Units.Select(u =>
        {
            var e = merged[u];
            var quality = new Dictionary<string, double> { ["images"] = images, ["skipped"] = skipped, ["mean"] = e.Mean, ["std"] = e.StandardDeviation, ["median"] = e.Quantile(0.5) };
            if (e.Top.Count > 0)
            {
                quality["topActivation"] = e.Top[0].Activation;
            }

            var data = new
            {
                receptiveField = new { size = field.Size, jump = field.Jump, offset = field.Offset },
                top = e.Top,
                bottom = e.Bottom,
                statistics = new
                {
                    count = e.Count,
                    mean = e.Mean,
                    std = e.StandardDeviation,
                    min = e.Min,
                    max = e.Max,
                    quantiles = new[] { 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99 }.ToDictionary(q => q.ToString("0.##", CultureInfo.InvariantCulture), e.Quantile),
                },
            };
            var png = e.Top.Count > 0 ? Mosaic.Render(folder, e.Top, field, model.ForwardSize) : Png.Encode(new float[3 * 8 * 8], 8, 8);
            return new RenderedLens(u, png, quality, data);
        }).ToList(), cancellationToken);
    }

    private string Dataset(string name) =>
        options.Datasets.TryGetValue(name, out var folder) && Directory.Exists(folder)
            ? folder
            : throw new RenderInputException($"this render silo has no dataset '{name}'; configure Farm:Engine:Datasets:{name} with a folder of images (known: {string.Join(", ", options.Datasets.Keys.DefaultIfEmpty("none"))}).");

    /// <summary>A shard's result: images seen, files skipped, and each unit's mergeable state.</summary>
    public sealed record DatasetShardFile(int Images, List<string> Skipped, List<UnitExamplesState> Units);

    /// <summary>Counts optimization steps from render progress and passes the increments on.</summary>
    private sealed class StepCounter(IProgress<int>? steps) : IProgress<RenderProgress>
    {
        private int last;

        public long Total { get; private set; }

        public void Report(RenderProgress value)
        {
            var delta = value.Step >= last ? value.Step - last : value.Step;
            last = value.Step;
            Total += delta;
            steps?.Report(delta);
        }
    }

    private sealed class Progress3(StepCounter counter) : IProgress<(int Done, int Total, double MeanObjective)>
    {
        public void Report((int Done, int Total, double MeanObjective) value) => counter.Report(new RenderProgress(value.Done, value.Total, value.MeanObjective));
    }
}
