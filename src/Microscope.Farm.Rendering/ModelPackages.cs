using System.Text.Json;
using Microscope.Farm.Storage;
using Microscope.Inference;
using Microscope.Onnx;
using Microscope.Onnx.Gradients;
using Microscope.Organisms;

namespace Microscope.Farm.Rendering;

/// <summary>
/// A model organism as the farm stores it: its ONNX file, its preprocessing model, its manifest
/// (naming them relatively) and its catalog, under models/{model}/{version}/. The version is a
/// content hash of all three, so publishing the same thing again is the same version and writes
/// nothing, and every stored lens names the exact model that made it.
/// </summary>
public static class ModelPackages
{
    public const string ModelFile = ModelPackage.ModelFile;
    public const string PreprocessingFile = ModelPackage.PreprocessingFile;
    public const string ManifestFile = ModelPackage.ManifestFile;
    public const string CatalogFile = ModelPackage.CatalogFile;

    /// <summary>Publishes a built-in organism ("resnet18") from <paramref name="registry"/> (the one beside the program by default).</summary>
    public static Task<ModelInfo> PublishOrganismAsync(ILensStore store, string id, OrganismRegistry? registry = null, CancellationToken cancellationToken = default) =>
        Ids.IsValid(id)
            ? PublishAsync(store, (registry ?? OrganismRegistry.Default).Resolve(id), cancellationToken)
            : throw new ModelFormatException($"'{id}' is not an organism id (letters, digits, '.', '_' and '-'); publish a file with {nameof(PublishFileAsync)}.");

    /// <summary>
    /// Publishes an ONNX file with its manifest: <paramref name="manifestPath"/>, else a
    /// "*.manifest.json" beside the file, else one inferred (its guesses become the model's notes).
    /// </summary>
    /// <remarks>
    /// A source that is the file's own path becomes its name: the API shows the source to everyone,
    /// and the same file published from another folder is the same version.
    /// </remarks>
    public static Task<ModelInfo> PublishFileAsync(ILensStore store, string onnxPath, string? manifestPath = null, CancellationToken cancellationToken = default)
    {
        var manifest = OrganismRegistry.Default.Resolve(Path.GetFullPath(onnxPath), manifestPath);
        return PublishAsync(store, Path.IsPathRooted(manifest.Source) ? manifest with { Source = Path.GetFileName(manifest.Source) } : manifest, cancellationToken);
    }

    /// <summary>Validates, catalogs and stores the model; returns what the model grain holds.</summary>
    public static async Task<ModelInfo> PublishAsync(ILensStore store, ModelManifest manifest, CancellationToken cancellationToken = default) =>
        await PublishAsync(store, await ModelPackage.ReadAsync(manifest, cancellationToken), ProbeLimits.Default, _ => Task.CompletedTask, cancellationToken);

    /// <summary>
    /// Catalogs the package (within <paramref name="probe"/>), stores it, and hands the result to
    /// <paramref name="register"/>. Nothing is written until the catalog is built, and whatever fails
    /// after the first write (the store, the registration, a cancelled request), the files this call
    /// wrote are removed again: a refused or failed package leaves nothing behind.
    /// </summary>
    public static async Task<ModelInfo> PublishAsync(ILensStore store, ModelPackage package, ProbeLimits probe, Func<ModelInfo, Task> register, CancellationToken cancellationToken = default)
    {
        var (manifest, version) = (package.Manifest, package.Version);
        var vision = OrganismRegistry.Compose(manifest);
        var sessions = new SessionFactory(new SessionSettings { Probe = probe });
        var catalog = LayerCatalogBuilder.Build(manifest, vision, sessions);
        var (lenses, notes) = OfferedLenses(vision, catalog);
        var info = new ModelInfo(manifest.Id, version, catalog.Title, catalog.Source,
            [.. catalog.Layers.Select((l, i) => new LayerInfo(l.Id, l.Op, l.Shape, i) { Layout = l.Token is null ? l.Layout : $"{l.Layout} token {l.Token}", AffineInImage = l.AffineInImage })],
            LensPaths.ModelPrefix(manifest.Id, version), lenses, [.. manifest.Assumptions, .. notes], DateTimeOffset.UtcNow)
        {
            Edges = [.. catalog.Edges.Select(e => new LayerEdgeInfo(e.From, e.To))],
            InputShape = [3, .. catalog.InputSize],
        };

        // The manifest goes last: a package whose manifest exists is complete.
        List<(string Path, byte[] Content, string Type)> files = [(LensPaths.Model(manifest.Id, version, ModelFile), package.Model, ContentTypes.Onnx)];
        if (package.Preprocessing is { } preprocessing)
        {
            files.Add((LensPaths.Model(manifest.Id, version, PreprocessingFile), preprocessing, ContentTypes.Onnx));
        }

        files.Add((LensPaths.Model(manifest.Id, version, CatalogFile), JsonSerializer.SerializeToUtf8Bytes(catalog, ModelManifest.JsonOptions), ContentTypes.Json));
        files.Add((LensPaths.Model(manifest.Id, version, ManifestFile), package.ManifestJson, ContentTypes.Json));
        var written = new List<string>();
        try
        {
            foreach (var (path, content, type) in files)
            {
                if (await store.PutIfAbsentAsync(path, content, type, cancellationToken))
                {
                    written.Add(path);
                }
            }

            await register(info);
            return info;
        }
        catch
        {
            // Newest first (the manifest before the model), and not cancellable: the request may be what was cancelled.
            foreach (var path in Enumerable.Reverse(written))
            {
                await store.DeleteAsync(path, CancellationToken.None);
            }

            throw;
        }
    }

    /// <summary>
    /// Gradient lenses need a gradient rule for every op up to a layer; the deepest layer needs the
    /// most, so one build for it tells. A model whose ops lack rules still gets its forward lenses.
    /// </summary>
    private static (IReadOnlyList<string> Lenses, IReadOnlyList<string> Notes) OfferedLenses(VisionGraph vision, LayerCatalog catalog)
    {
        var all = FarmLenses.All.Select(l => l.Name).ToList();
        var forward = FarmLenses.All.Where(l => !l.NeedsGradients).Select(l => l.Name).ToList();
        var deepest = catalog.Layers[^1];
        var size = vision.Spec.ForwardSize;
        try
        {
            GradientBuilder.Build(vision.Model, size, size, new GradientRequest(deepest.Tensor), ShapeProbes.OnCpu(size, size), deepest.Id);
            return (all, []);
        }
        catch (ModelFormatException e)
        {
            return (forward, [$"gradient lenses are not offered: {e.Message}"]);
        }
    }
}
