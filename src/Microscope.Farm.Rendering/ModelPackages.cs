using System.Security.Cryptography;
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
    public const string ModelFile = "model.onnx";
    public const string PreprocessingFile = "preprocess.onnx";
    public const string ManifestFile = "manifest.json";
    public const string CatalogFile = "catalog.json";

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
    public static async Task<ModelInfo> PublishAsync(ILensStore store, ModelManifest manifest, CancellationToken cancellationToken = default)
    {
        var model = await File.ReadAllBytesAsync(manifest.ModelPath, cancellationToken);
        var preprocessing = manifest.PreprocessingModelPath is { } p ? await File.ReadAllBytesAsync(p, cancellationToken) : null;
        var stored = manifest with { Model = ModelFile, Input = manifest.Input with { PreprocessingModel = preprocessing is null ? null : PreprocessingFile } };
        var manifestJson = JsonSerializer.SerializeToUtf8Bytes(stored, ModelManifest.JsonOptions);
        var version = Version(model, preprocessing, manifestJson);

        var vision = OrganismRegistry.Compose(manifest);
        var sessions = new SessionFactory(new SessionSettings());
        var catalog = LayerCatalogBuilder.Build(manifest, vision, sessions);
        var (lenses, notes) = OfferedLenses(vision, catalog);

        await store.PutIfAbsentAsync(LensPaths.Model(manifest.Id, version, ModelFile), model, ContentTypes.Onnx, cancellationToken);
        if (preprocessing is not null)
        {
            await store.PutIfAbsentAsync(LensPaths.Model(manifest.Id, version, PreprocessingFile), preprocessing, ContentTypes.Onnx, cancellationToken);
        }

        await store.PutIfAbsentAsync(LensPaths.Model(manifest.Id, version, CatalogFile), JsonSerializer.SerializeToUtf8Bytes(catalog, ModelManifest.JsonOptions), ContentTypes.Json, cancellationToken);

        // The manifest goes last: a package whose manifest exists is complete.
        await store.PutIfAbsentAsync(LensPaths.Model(manifest.Id, version, ManifestFile), manifestJson, ContentTypes.Json, cancellationToken);
        return new ModelInfo(manifest.Id, version, catalog.Title, catalog.Source,
            [.. catalog.Layers.Select((l, i) => new LayerInfo(l.Id, l.Op, l.Shape, i))],
            LensPaths.ModelPrefix(manifest.Id, version), lenses, [.. manifest.Assumptions, .. notes], DateTimeOffset.UtcNow);
    }

    /// <summary>16 hex digits of SHA-256 over the model, the preprocessing model and the manifest, each length-prefixed.</summary>
    public static string Version(byte[] model, byte[]? preprocessing, byte[] manifestJson)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var part in new[] { model, preprocessing ?? [], manifestJson })
        {
            hash.AppendData(BitConverter.GetBytes((long)part.Length));
            hash.AppendData(part);
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset())[..16];
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
        var size = vision.Spec.RenderSize ?? Math.Max(vision.Spec.Height, vision.Spec.Width);
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
