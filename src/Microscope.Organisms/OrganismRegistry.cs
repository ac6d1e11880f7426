using Microscope.Onnx;

namespace Microscope.Organisms;

/// <summary>
/// Finds models by organism id ("resnet18") or by path ("./my-model.onnx"), and composes them with
/// their preprocessing. Built-in organisms live in an "organisms" folder beside the program: one
/// manifest per organism, and the model files the build fetched from their packages.
/// </summary>
public sealed class OrganismRegistry(string folder)
{
    public static OrganismRegistry Default { get; } = new(Path.Combine(AppContext.BaseDirectory, "organisms"));

    public string Folder { get; } = folder;

    public IReadOnlyList<ModelManifest> BuiltIn() =>
        Directory.Exists(Folder)
            ? Directory.EnumerateFiles(Folder, "*.json").Order(StringComparer.Ordinal).Select(ModelManifest.Load).ToList()
            : [];

    /// <summary>An organism id, or the path of an ONNX file (with an optional manifest).</summary>
    public ModelManifest Resolve(string idOrPath, string? manifestPath = null)
    {
        if (manifestPath is not null)
        {
            var manifest = ModelManifest.Load(manifestPath);
            return LooksLikePath(idOrPath) ? manifest with { Model = Path.GetFullPath(idOrPath) } : manifest;
        }

        if (LooksLikePath(idOrPath))
        {
            var beside = Path.ChangeExtension(idOrPath, ".manifest.json");
            return File.Exists(beside)
                ? ModelManifest.Load(beside) with { Model = Path.GetFullPath(idOrPath) }
                : ManifestInference.Infer(idOrPath);
        }

        var path = Path.Combine(Folder, idOrPath + ".json");
        if (!Ids.IsValid(idOrPath) || !File.Exists(path))
        {
            var known = BuiltIn().Select(m => m.Id);
            throw new ModelFormatException($"unknown model organism '{idOrPath}'; known organisms: {string.Join(", ", known)}; or give the path of an .onnx file.");
        }

        var builtIn = ModelManifest.Load(path);
        if (!File.Exists(builtIn.ModelPath))
        {
            throw new ModelFormatException($"{idOrPath}: the model file {builtIn.ModelPath} is missing; build the project (./run.sh or dotnet build) to fetch it.");
        }

        return builtIn;
    }

    /// <summary>Loads the model named by <paramref name="manifest"/> and folds its preprocessing in.</summary>
    public static VisionGraph Compose(ModelManifest manifest)
    {
        var model = OnnxModelFile.Load(manifest.ModelPath);
        if (manifest.PreprocessingModelPath is { } named && !File.Exists(named))
        {
            throw new ModelFormatException($"{named}: no such file; the manifest of '{manifest.Id}' names it as input.preprocessingModel (\"{manifest.Input.PreprocessingModel}\", relative to {manifest.BaseDirectory}).");
        }

        var preprocessing = manifest.PreprocessingModelPath is { } prep ? OnnxModelFile.Load(prep) : null;
        return VisionGraph.Compose(model, manifest.Input, preprocessing, manifest.Id, manifest.Assumptions);
    }

    private static bool LooksLikePath(string text) =>
        text.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase) || text.Contains('/') || text.Contains('\\') || File.Exists(text);
}
