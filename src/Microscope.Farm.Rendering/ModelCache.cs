using Microscope.Farm.Storage;
using Microscope.Inference;
using Microscope.Onnx;
using Microscope.Organisms;
using Microsoft.Extensions.Logging;

namespace Microscope.Farm.Rendering;

/// <summary>
/// A model version ready to render: composed with its preprocessing, cataloged, with sessions on
/// this silo's device. Shared by every render slot: nothing in it changes after loading (the lenses
/// clone the graph before they change it, and each render makes and disposes its own sessions).
/// </summary>
public sealed record LoadedModel(string Id, string Version, ModelManifest Manifest, VisionGraph Vision, LayerCatalog Catalog, SessionFactory Sessions)
{
    public Layer Layer(string id) => Catalog.Find(id);

    /// <summary>The side the model is fed for forward lenses (dataset examples, tuning curves).</summary>
    public int ForwardSize => Vision.Spec.ForwardSize;

    /// <summary>The model of <paramref name="manifest"/> composed with its preprocessing and cataloged with <paramref name="sessions"/>: what render silos and the CLI render from.</summary>
    public static LoadedModel Load(string id, string version, ModelManifest manifest, SessionFactory sessions)
    {
        var vision = OrganismRegistry.Compose(manifest);
        return new LoadedModel(id, version, manifest, vision, LayerCatalogBuilder.Build(manifest, vision, sessions), sessions);
    }
}

/// <summary>
/// Model packages fetched from the lens store into a local folder and loaded once per version; the
/// <paramref name="capacity"/> most recently used stay loaded. Safe for concurrent render slots:
/// callers asking for the same version share one download and one load (a failed load is not
/// remembered, so the next caller tries again).
/// </summary>
public sealed class ModelCache(ILensStore store, string folder, SessionSettings sessions, ILogger<ModelCache> logger, int capacity = 4)
{
    private readonly Lock gate = new();
    private readonly Dictionary<(string Model, string Version), Entry> entries = [];
    private readonly ModelDownloader downloader = new(store, folder);
    private long clock;

    /// <summary>
    /// One factory for every model: it holds no sessions (each render creates and disposes its own),
    /// only the settings and whether CUDA failed to load, so sharing it across slots is safe.
    /// </summary>
    private readonly SessionFactory factory = new(sessions, logger);

    /// <summary>The device and limits every loaded model's sessions get.</summary>
    public SessionSettings Settings => sessions;

    /// <summary>Where packages are kept on this silo: {folder}/{model}/{version}/.</summary>
    public string Folder => folder;

    /// <summary>The loaded (or loading) versions, most recently used first.</summary>
    public IReadOnlyList<(string Model, string Version)> Loaded
    {
        get
        {
            lock (gate)
            {
                return [.. entries.OrderByDescending(e => e.Value.LastUsed).Select(e => e.Key)];
            }
        }
    }

    public Task<LoadedModel> GetAsync(string model, string version, CancellationToken cancellationToken = default)
    {
        Task<LoadedModel> load;
        lock (gate)
        {
            var key = (model, version);
            if (!entries.TryGetValue(key, out var entry) || entry.Load.IsFaulted || entry.Load.IsCanceled)
            {
                // Task.Run: nothing of the load runs under the lock. The load ignores this caller's
                // cancellation, since other callers may be waiting for the same load.
                entries[key] = entry = new Entry(Task.Run(() => LoadAsync(model, version)));
            }

            entry.LastUsed = ++clock;
            load = entry.Load;
            EvictLeastRecentlyUsed();
        }

        return load.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// Forgets the least recently used versions beyond capacity. A render still holding one keeps it
    /// alive until it finishes; nothing native needs disposing.
    /// </summary>
    private void EvictLeastRecentlyUsed()
    {
        while (entries.Count > Math.Max(1, capacity))
        {
            var oldest = entries.MinBy(e => e.Value.LastUsed).Key;
            entries.Remove(oldest);
            logger.LogInformation("Unloaded model {Model} version {Version} (least recently used of {Capacity})", oldest.Model, oldest.Version, capacity);
        }
    }

    private async Task<LoadedModel> LoadAsync(string model, string version)
    {
        var local = await downloader.FetchAsync(model, version);
        var manifest = ModelManifest.Load(Path.Combine(local, ModelPackages.ManifestFile));
        var loaded = LoadedModel.Load(model, version, manifest, factory);
        logger.LogInformation("Loaded model {Model} version {Version} from {Folder} ({Layers} layers)", model, version, local, loaded.Catalog.Layers.Count);
        return loaded;
    }

    private sealed class Entry(Task<LoadedModel> load)
    {
        public Task<LoadedModel> Load { get; } = load;

        public long LastUsed { get; set; }
    }
}
