using System.Diagnostics;
using System.Text.Json;
using Microscope.Farm.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Microscope.Farm.Rendering;

/// <summary>
/// What every engine does around the render itself: it first looks whether every output of the item
/// is stored already (then it renders nothing and reports what is there: a retried or resumed item is
/// never rendered twice, even when the job lost the news of its completion), and afterwards stores
/// each image, then its JSON (the JSON's presence means the lens is complete), and appends a line to
/// the render journal. Storage errors propagate as they are, for the worker to classify.
/// </summary>
public abstract class StoredRenderEngine(ILensStore store, string? journalFolder, ILogger? logger = null) : IRenderEngine
{
    private readonly ILogger logger = logger ?? NullLogger.Instance;

    protected ILensStore Store { get; } = store;

    /// <summary>The datasets this engine can scan (declared here so that derived engines' lists are what IRenderEngine reports).</summary>
    public virtual IReadOnlyList<string> Datasets => [];

    /// <summary>Where actual renders are recorded; null when not configured.</summary>
    public RenderJournal? Journal { get; } = journalFolder is null ? null : new RenderJournal(journalFolder);

    public async Task<WorkResult> RenderAsync(WorkItem item, IProgress<int>? steps, CancellationToken cancellationToken)
    {
        // The planner normalizes options already; doing it here too keeps every stored name a
        // function of what the lens really uses, whoever made the item.
        item = item with { Options = item.Options.For(item.Lens) };
        if (item.Kind == WorkKind.DatasetMerge && item.Units.Count == 0)
        {
            throw new RenderInputException($"{item.Describe()}: a dataset merge renders units, and this one names none.");
        }

        return item.Kind == WorkKind.DatasetShard
            ? await ShardAsync(item, cancellationToken)
            : await LensesAsync(item, steps, cancellationToken);
    }

    /// <summary>Renders the item's lenses (one per unit, or one for the layer).</summary>
    protected abstract Task<(IReadOnlyList<RenderedLens> Lenses, long Steps)> RenderLensesAsync(WorkItem item, IProgress<int>? steps, CancellationToken cancellationToken);

    /// <summary>Scans one dataset shard once: each scanned layer's mergeable per-unit state, in <see cref="WorkItem.ScannedLayers"/> order.</summary>
    protected abstract Task<IReadOnlyList<DatasetShardFile>> ScanShardAsync(WorkItem item, CancellationToken cancellationToken);

    /// <summary>The image and JSON path of every lens the item produces.</summary>
    public static IReadOnlyList<(int Unit, string Image, string Data)> Outputs(WorkItem item)
    {
        var hash = item.Options.For(item.Lens).Hash();
        if (item.Units.Count == 0)
        {
            return [(-1, LensPaths.LayerLens(item.Model, item.ModelVersion, item.Layer, item.Lens, hash, "png"), LensPaths.LayerLens(item.Model, item.ModelVersion, item.Layer, item.Lens, hash, "json"))];
        }

        return [.. item.Units.Select(u => (u,
            LensPaths.UnitLens(item.Model, item.ModelVersion, item.Layer, u, item.Lens, hash, "png"),
            LensPaths.UnitLens(item.Model, item.ModelVersion, item.Layer, u, item.Lens, hash, "json")))];
    }

    /// <summary>Where a dataset shard item stores its scan of its (first) layer.</summary>
    public static string ShardPath(WorkItem item) => ShardPath(item, item.Layer);

    /// <summary>Where a dataset shard item stores its scan of <paramref name="layer"/>: where that layer's merges read it.</summary>
    public static string ShardPath(WorkItem item, string layer) =>
        LensPaths.DatasetShard(item.Model, item.ModelVersion, layer, item.Options.For(item.Lens).Hash(), item.Shard, item.Shards);

    private async Task<WorkResult> LensesAsync(WorkItem item, IProgress<int>? steps, CancellationToken cancellationToken)
    {
        var outputs = Outputs(item);
        if (await ReadExistingAsync(outputs, cancellationToken) is { } existing)
        {
            logger.LogDebug("{Item}: every output is stored already; nothing rendered", item.Describe());
            return new WorkResult(existing, false, 0, 0);
        }

        var watch = Stopwatch.StartNew();
        var (lenses, optimizationSteps) = await RenderLensesAsync(item, steps, cancellationToken);
        var records = new List<LensRecord>();
        using (var activity = FarmTelemetry.Source.StartActivity("lens-store write"))
        {
            activity?.SetTag(FarmTelemetry.Tags.Lens, item.Lens).SetTag("microscope.store", Store.Describe).SetTag("microscope.files", lenses.Count * 2);
            foreach (var lens in lenses)
            {
                records.Add(await StoreAsync(item, outputs, lens, cancellationToken));
            }
        }

        // Journaled once everything is stored: a render stopped before that (shutdown, lost lease) is
        // rendered again and journaled then, once. A process killed between the last write and this
        // line leaves stored outputs without one, which the next lease finds stored and skips.
        Journal?.Append(item);
        logger.LogInformation("{Item}: {Lenses} lenses rendered and stored in {Seconds:F1} s", item.Describe(), records.Count, watch.Elapsed.TotalSeconds);
        return new WorkResult(records, true, watch.Elapsed.TotalSeconds, optimizationSteps);
    }

    private async Task<WorkResult> ShardAsync(WorkItem item, CancellationToken cancellationToken)
    {
        // Every layer's state is stored, or the shard is scanned again. A scan is exact and
        // deterministic, so a layer stored by an interrupted attempt is the same file, and kept.
        var paths = item.ScannedLayers.Select(layer => ShardPath(item, layer)).ToList();
        var stored = true;
        foreach (var path in paths)
        {
            stored = stored && await Store.ExistsAsync(path, cancellationToken);
        }

        if (stored)
        {
            logger.LogDebug("{Item}: the shard is stored already; nothing scanned", item.Describe());
            return new WorkResult([], false, 0, 0);
        }

        var watch = Stopwatch.StartNew();
        var shards = await ScanShardAsync(item, cancellationToken);
        if (shards.Count != paths.Count)
        {
            throw new InvalidOperationException($"{item.Describe()}: the engine scanned {shards.Count} layers, not the {paths.Count} asked for.");
        }

        foreach (var (path, shard) in paths.Zip(shards))
        {
            await Store.PutIfAbsentAsync(path, JsonSerializer.SerializeToUtf8Bytes(shard, LensDocument.Json), ContentTypes.Json, cancellationToken);
        }

        Journal?.Append(item);
        logger.LogInformation("{Item}: {Images} images scanned through {Layers} layers in {Seconds:F1} s", item.Describe(), shards.FirstOrDefault()?.Images ?? 0, paths.Count, watch.Elapsed.TotalSeconds);
        return new WorkResult([], true, watch.Elapsed.TotalSeconds, 0);
    }

    private async Task<IReadOnlyList<LensRecord>?> ReadExistingAsync(IReadOnlyList<(int Unit, string Image, string Data)> outputs, CancellationToken cancellationToken)
    {
        var records = new List<LensRecord>();
        foreach (var (unit, image, data) in outputs)
        {
            // The JSON is stored after its image, so its presence means both are there.
            if (await Store.GetAsync(data, cancellationToken) is not { } blob)
            {
                return null;
            }

            var document = JsonSerializer.Deserialize<LensDocument>(blob.Content.Span, LensDocument.Json)!;
            records.Add(new LensRecord(document.Lens, unit, document.OptionsHash, image, data, document.Quality, document.RenderedAt, document.Options, document.ModelVersion));
        }

        return records;
    }

    private async Task<LensRecord> StoreAsync(WorkItem item, IReadOnlyList<(int Unit, string Image, string Data)> outputs, RenderedLens lens, CancellationToken cancellationToken)
    {
        var hash = item.Options.Hash();
        var (_, image, data) = outputs.FirstOrDefault(o => o.Unit == lens.Unit);
        if (image is null)
        {
            throw new InvalidOperationException($"{item.Describe()}: the engine rendered unit {lens.Unit}, which the item does not ask for.");
        }

        var now = DateTimeOffset.UtcNow;
        var payload = lens.Data is null ? (JsonElement?)null : JsonSerializer.SerializeToElement(lens.Data, LensDocument.Json);
        var document = new LensDocument(item.Model, item.ModelVersion, item.Layer, lens.Unit < 0 ? null : lens.Unit, item.Lens, hash, item.Options, lens.Quality, now, payload);
        await Store.PutIfAbsentAsync(image, lens.Png, ContentTypes.Png, cancellationToken);
        await Store.PutIfAbsentAsync(data, JsonSerializer.SerializeToUtf8Bytes(document, LensDocument.Json), ContentTypes.Json, cancellationToken);
        return new LensRecord(item.Lens, lens.Unit, hash, image, data, lens.Quality, now, item.Options, item.ModelVersion);
    }
}
