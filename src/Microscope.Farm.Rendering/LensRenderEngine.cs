using Microscope.Farm.Storage;
using Microsoft.Extensions.Logging;

namespace Microscope.Farm.Rendering;

/// <summary>
/// Renders work items with the lens library, each through its lens's renderer
/// (<see cref="LensRenderers"/>); dataset examples are scanned here in shards and merged exactly by
/// their renderer. Renders run on the thread pool; cancellation stops them between steps. Several
/// render slots may call at once: the loaded models they share are read-only.
/// </summary>
public sealed class LensRenderEngine : StoredRenderEngine
{
    private readonly ModelCache models;
    private readonly RenderEngineOptions options;
    private readonly LensServices services;

    public LensRenderEngine(ILensStore store, ModelCache models, RenderEngineOptions options, ILogger<LensRenderEngine>? logger = null)
        : base(store, options.JournalFolder, logger)
    {
        this.models = models;
        this.options = options;

        // Made with the engine, at the silo's start: its memory reading is the one the render slots share.
        services = new LensServices(store, new RenderPasses(options, models, logger).ImagesPerPass, Dataset);
    }

    /// <summary>The configured datasets whose folder exists on this silo.</summary>
    public override IReadOnlyList<string> Datasets => [.. options.Datasets.Where(d => Directory.Exists(d.Value)).Select(d => d.Key).Order(StringComparer.Ordinal)];

    /// <summary>Where a dataset merge stores the layer's statistics (every unit), beside the layer's shards.</summary>
    public static string StatisticsPath(WorkItem item) => DatasetExamplesLens.StatisticsPath(item);

    protected override async Task<(IReadOnlyList<RenderedLens> Lenses, long Steps)> RenderLensesAsync(WorkItem item, IProgress<int>? steps, CancellationToken cancellationToken)
    {
        var renderer = LensRenderers.For(item.Lens, item.Kind);
        var model = await models.GetAsync(item.Model, item.ModelVersion, cancellationToken);
        var counter = new StepCounter(steps);
        var lenses = await Task.Run(() => renderer.RenderAsync(new LensRender(model, item, services, counter, cancellationToken)), cancellationToken);
        return (lenses, counter.Total);
    }

    protected override async Task<IReadOnlyList<DatasetShardFile>> ScanShardAsync(WorkItem item, CancellationToken cancellationToken)
    {
        var folder = Dataset(item.Options.Dataset);
        var model = await models.GetAsync(item.Model, item.ModelVersion, cancellationToken);
        return await Task.Run(() => DatasetLens.Scan(model, item, folder, options.ScanBatch, cancellationToken), cancellationToken);
    }

    private string Dataset(string name) =>
        options.Datasets.TryGetValue(name, out var folder) && Directory.Exists(folder)
            ? folder
            : throw new RenderInputException($"this render silo has no dataset '{name}'; configure Farm:Engine:Datasets:{name} with a folder of images (known: {string.Join(", ", options.Datasets.Keys.DefaultIfEmpty("none"))}).");
}
