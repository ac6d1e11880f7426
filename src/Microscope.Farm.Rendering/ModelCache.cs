using System.Collections.Concurrent;
using Microscope.Farm.Storage;
using Microscope.Inference;
using Microscope.Onnx;
using Microscope.Organisms;
using Microsoft.Extensions.Logging;

namespace Microscope.Farm.Rendering;

/// <summary>A model version ready to render: composed with its preprocessing, cataloged, with sessions on this silo's device.</summary>
public sealed record LoadedModel(string Id, string Version, ModelManifest Manifest, VisionGraph Vision, LayerCatalog Catalog, SessionFactory Sessions)
{
    public Layer Layer(string id) => Catalog.Find(id);

    /// <summary>The side the model is fed for forward lenses (dataset examples, tuning curves).</summary>
    public int ForwardSize => Vision.Spec.RenderSize ?? Math.Max(Vision.Spec.Height, Vision.Spec.Width);
}

/// <summary>
/// Model packages fetched from the lens store into a local folder, loaded once per version and kept
/// (a few at a time). A package is downloaded into a temporary folder and renamed into place, so a
/// half-downloaded package is never used; concurrent callers share one download.
/// </summary>
public sealed class ModelCache(ILensStore store, string folder, SessionSettings sessions, ILogger<ModelCache> logger, int capacity = 4)
{
    private readonly ConcurrentDictionary<(string Model, string Version), Lazy<Task<LoadedModel>>> loaded = new();
    private readonly ConcurrentQueue<(string Model, string Version)> order = new();
    private readonly SessionFactory factory = new(sessions, logger);

    public Task<LoadedModel> GetAsync(string model, string version, CancellationToken cancellationToken = default)
    {
        var key = (model, version);
        var entry = loaded.GetOrAdd(key, k => new Lazy<Task<LoadedModel>>(() => LoadAsync(k.Model, k.Version)));
        if (entry.IsValueCreated && entry.Value.IsFaulted)
        {
            // A failed load (storage away) is tried again next time, not remembered.
            loaded.TryRemove(new KeyValuePair<(string, string), Lazy<Task<LoadedModel>>>(key, entry));
            entry = loaded.GetOrAdd(key, k => new Lazy<Task<LoadedModel>>(() => LoadAsync(k.Model, k.Version)));
        }

        return entry.Value.WaitAsync(cancellationToken);
    }

    private async Task<LoadedModel> LoadAsync(string model, string version)
    {
        var local = await FetchAsync(model, version);
        var manifest = ModelManifest.Load(Path.Combine(local, ModelPackages.ManifestFile));
        var vision = OrganismRegistry.Compose(manifest);
        var catalog = LayerCatalogBuilder.Build(manifest, vision, factory);
        order.Enqueue((model, version));
        while (order.Count > capacity && order.TryDequeue(out var old))
        {
            loaded.TryRemove(old, out _);
        }

        logger.LogInformation("Loaded model {Model} version {Version} from {Folder} ({Layers} layers)", model, version, local, catalog.Layers.Count);
        return new LoadedModel(model, version, manifest, vision, catalog, factory);
    }

    private async Task<string> FetchAsync(string model, string version)
    {
        var target = Path.Combine(folder, LensPaths.Segment(model, "model"), LensPaths.Segment(version, "version"));
        if (File.Exists(Path.Combine(target, ModelPackages.ManifestFile)))
        {
            return target;
        }

        var manifest = await store.GetAsync(LensPaths.Model(model, version, ModelPackages.ManifestFile))
            ?? throw new FarmNotFoundException($"model '{model}' version {version} is not in the lens store ({store.Describe}); register it again.");
        var temp = target + ".tmp-" + Guid.NewGuid().ToString("N")[..8];
        Directory.CreateDirectory(temp);
        try
        {
            foreach (var file in new[] { ModelPackages.ModelFile, ModelPackages.PreprocessingFile })
            {
                if (await store.GetAsync(LensPaths.Model(model, version, file)) is { } blob)
                {
                    await File.WriteAllBytesAsync(Path.Combine(temp, file), blob.Content.ToArray());
                }
            }

            await File.WriteAllBytesAsync(Path.Combine(temp, ModelPackages.ManifestFile), manifest.Content.ToArray());
            try
            {
                Directory.Move(temp, target);
            }
            catch (IOException) when (File.Exists(Path.Combine(target, ModelPackages.ManifestFile)))
            {
                // Another process fetched it first.
            }
        }
        finally
        {
            if (Directory.Exists(temp))
            {
                Directory.Delete(temp, recursive: true);
            }
        }

        return target;
    }
}
