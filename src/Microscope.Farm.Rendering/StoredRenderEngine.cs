using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microscope.Farm.Storage;

namespace Microscope.Farm.Rendering;

/// <summary>
/// What every engine does around the render itself: it first looks whether every output of the item
/// is stored already (then it renders nothing and reports what is there: a retried or resumed item is
/// never rendered twice), and afterwards stores each image, then its JSON (the JSON's presence means
/// the lens is complete), and appends a line to the render journal.
/// </summary>
public abstract class StoredRenderEngine(ILensStore store, string? journalFolder) : IRenderEngine
{
    private static readonly object JournalLock = new();

    protected ILensStore Store { get; } = store;

    public async Task<WorkResult> RenderAsync(WorkItem item, IProgress<int>? steps, CancellationToken cancellationToken)
    {
        if (item.Kind == WorkKind.DatasetShard)
        {
            return await ShardAsync(item, steps, cancellationToken);
        }

        var outputs = Outputs(item);
        var existing = await ReadExistingAsync(outputs, cancellationToken);
        if (existing is not null)
        {
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
                records.Add(await StoreAsync(item, lens, cancellationToken));
            }
        }

        Journal(item);
        return new WorkResult(records, true, watch.Elapsed.TotalSeconds, optimizationSteps);
    }

    /// <summary>Renders the item's lenses (one per unit, or one for the layer).</summary>
    protected abstract Task<(IReadOnlyList<RenderedLens> Lenses, long Steps)> RenderLensesAsync(WorkItem item, IProgress<int>? steps, CancellationToken cancellationToken);

    /// <summary>Scans one dataset shard and stores its mergeable statistics.</summary>
    protected abstract Task<WorkResult> ShardAsync(WorkItem item, IProgress<int>? steps, CancellationToken cancellationToken);

    /// <summary>The image and JSON path of every lens the item produces.</summary>
    public static IReadOnlyList<(int Unit, string Image, string Data)> Outputs(WorkItem item)
    {
        var hash = item.Options.Hash();
        if (item.Units.Count == 0)
        {
            return [(-1, LensPaths.LayerLens(item.Model, item.ModelVersion, item.Layer, item.Lens, hash, "png"), LensPaths.LayerLens(item.Model, item.ModelVersion, item.Layer, item.Lens, hash, "json"))];
        }

        return [.. item.Units.Select(u => (u,
            LensPaths.UnitLens(item.Model, item.ModelVersion, item.Layer, u, item.Lens, hash, "png"),
            LensPaths.UnitLens(item.Model, item.ModelVersion, item.Layer, u, item.Lens, hash, "json")))];
    }

    private async Task<IReadOnlyList<LensRecord>?> ReadExistingAsync(IReadOnlyList<(int Unit, string Image, string Data)> outputs, CancellationToken cancellationToken)
    {
        var records = new List<LensRecord>();
        foreach (var (unit, image, data) in outputs)
        {
            if (await Store.GetAsync(data, cancellationToken) is not { } blob)
            {
                return null;
            }

            var document = JsonSerializer.Deserialize<LensDocument>(blob.Content.Span, LensDocument.Json)!;
            records.Add(new LensRecord(document.Lens, unit, document.OptionsHash, image, data, document.Quality, document.RenderedAt, document.Options, document.ModelVersion));
        }

        return records;
    }

    private async Task<LensRecord> StoreAsync(WorkItem item, RenderedLens lens, CancellationToken cancellationToken)
    {
        var hash = item.Options.Hash();
        var (_, image, data) = Outputs(item).First(o => o.Unit == lens.Unit);
        var now = DateTimeOffset.UtcNow;
        var payload = lens.Data is null ? (JsonElement?)null : JsonSerializer.SerializeToElement(lens.Data, LensDocument.Json);
        var document = new LensDocument(item.Model, item.ModelVersion, item.Layer, lens.Unit < 0 ? null : lens.Unit, item.Lens, hash, item.Options, lens.Quality, now, payload);
        await Store.PutIfAbsentAsync(image, lens.Png, ContentTypes.Png, cancellationToken);
        await Store.PutIfAbsentAsync(data, JsonSerializer.SerializeToUtf8Bytes(document, LensDocument.Json), ContentTypes.Json, cancellationToken);
        return new LensRecord(item.Lens, lens.Unit, hash, image, data, lens.Quality, now, item.Options, item.ModelVersion);
    }

    /// <summary>One line per actual render, in a file of this process's own (appends from several processes to one file may interleave).</summary>
    protected void Journal(WorkItem item)
    {
        if (journalFolder is null)
        {
            return;
        }

        Directory.CreateDirectory(journalFolder);
        var journalPath = Path.Combine(journalFolder, $"renders-{Environment.ProcessId}.tsv");
        var line = string.Create(CultureInfo.InvariantCulture,
            $"{DateTimeOffset.UtcNow:O}\t{Environment.ProcessId}\t{item.Job}\t{item.Index}\t{item.Kind}\t{item.Layer}\t{item.Lens}\t{string.Join(",", item.Units)}\n");
        lock (JournalLock)
        {
            using var file = new FileStream(journalPath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite);
            file.Write(System.Text.Encoding.UTF8.GetBytes(line));
        }
    }
}
