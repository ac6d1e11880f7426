using Microscope.Inference;
using Microscope.Lenses;
using Microscope.Lenses.DatasetExamples;

namespace Microscope.Farm.Rendering;

/// <summary>A layer and the units of it to render (none for a layer lens).</summary>
public sealed record LayerUnits(string Layer, IReadOnlyList<int> Units);

/// <summary>
/// One lens, rendered on this machine (`microscope render`): some units of one layer, or for a
/// dataset lens of several layers, whose images are then scanned once for all of them.
/// </summary>
/// <param name="Options">The lens's options; those the lens does not read are reset, as for a job.</param>
public sealed record LocalRenderRequest(LensKind Lens, IReadOnlyList<LayerUnits> Layers, LensOptions Options)
{
    public LocalRenderRequest(LensKind lens, string layer, IReadOnlyList<int> units, LensOptions options)
        : this(lens, [new LayerUnits(layer, units)], options)
    {
    }

    /// <summary>Images per pass; 0: as many as fit the device's free memory, as render silos size their passes.</summary>
    public int ImagesPerPass { get; init; }

    /// <summary>The image DeepDream and caricature start from; null: the built-in one.</summary>
    public string? SeedImage { get; init; }

    /// <summary>The folder of images a dataset lens scans (searched recursively).</summary>
    public string? Dataset { get; init; }

    /// <summary>Images per forward pass of a dataset scan.</summary>
    public int ScanBatch { get; init; } = new RenderEngineOptions().ScanBatch;

    /// <summary>The decoded images a dataset lens draws its mosaics from (one cache for every unit of every layer); null: a new one.</summary>
    public ExampleImages? Examples { get; init; }
}

/// <summary>What a local render made of one layer: one lens per unit (−1: of the layer), and for a dataset lens the layer's statistics.</summary>
public sealed record LocalRenderResult(WorkItem Item, IReadOnlyList<RenderedLens> Lenses, LayerStatistics? Statistics);

/// <summary>
/// Renders on this machine through the farm's own lens renderers (<see cref="LensRenderers"/>), so
/// a lens draws the same picture and figures from the CLI as from a render silo. A dataset lens is
/// scanned as one shard and merged as the farm merges its shards.
/// </summary>
public static class LocalRender
{
    /// <param name="steps">Optimization steps as they are taken.</param>
    /// <param name="plans">Each pass-size decision, in words, when passes are sized to the device's memory.</param>
    public static IReadOnlyList<LocalRenderResult> Render(LoadedModel model, LocalRenderRequest request, IProgress<int>? steps = null, Action<BatchPlan>? plans = null, CancellationToken cancellation = default)
    {
        var lens = request.Lens;
        var kind = lens.NeedsDataset ? WorkKind.DatasetMerge : WorkKind.Render;
        var options = request.Options.For(lens);
        List<WorkItem> items = [.. request.Layers.Select(l => new WorkItem("local", 0, kind, model.Id, model.Version, l.Layer, lens.Name, l.Units, options, 0, 1, []))];
        if (lens.NeedsDataset)
        {
            var folder = request.Dataset ?? throw new RenderInputException($"{lens.Name} needs a folder of images.");
            var scan = items[0] with { Kind = WorkKind.DatasetShard, Units = [], ScanLayers = [.. items.Select(i => i.Layer)] };
            var shards = DatasetLens.Scan(model, scan, folder, request.ScanBatch, cancellation);
            var images = request.Examples ?? ExampleImages.InFolder(folder, model.ForwardSize);
            return [.. items.Select((item, i) =>
            {
                var merged = DatasetLens.Merge([shards[i]], model.Layer(item.Layer).Units, item.Options.Top);
                var statistics = LayerStatistics.Create(item.Model, item.Layer, merged.Images, merged.Skipped, merged.Units);
                return new LocalRenderResult(item, DatasetLens.Render(model, item, merged, images, cancellation), statistics);
            })];
        }

        if (items.Count != 1)
        {
            throw new RenderInputException($"{lens.Name} renders one layer at a time; only a dataset lens scans several layers at once.");
        }

        var sizer = request.ImagesPerPass > 0 ? null : new BatchSizer(DeviceMemory.Default, model.Sessions.Settings, new BatchSizing());
        int ImagesPerPass(WorkItem work, RenderMemory estimate, bool coupled)
        {
            if (sizer is null)
            {
                return request.ImagesPerPass;
            }

            var plan = RenderPasses.Plan(sizer, work, estimate, coupled);
            plans?.Invoke(plan);
            return plan.ImagesPerPass;
        }

        var services = new LensServices(null, ImagesPerPass, name => throw new RenderInputException($"{lens.Name} reads no dataset '{name}' here."));
        var render = new LensRender(model, items[0], services, new StepCounter(steps), cancellation, request.SeedImage);
        return [new LocalRenderResult(items[0], LensRenderers.For(items[0].Lens, items[0].Kind).RenderAsync(render).GetAwaiter().GetResult(), null)];
    }
}
