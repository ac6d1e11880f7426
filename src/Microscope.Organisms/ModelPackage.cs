using System.Security.Cryptography;
using System.Text.Json;
using Microscope.Onnx;

namespace Microscope.Organisms;

/// <summary>
/// A model organism's files as the farm stores them, read without running anything: the manifest, the
/// version hashed from the files, and their bytes. The api role reads and stages a package (cheap: a
/// file read and a hash); a render silo catalogs it (the probe run) before it is registered.
/// </summary>
public sealed record ModelPackage(ModelManifest Manifest, string Version, byte[] Model, byte[]? Preprocessing, byte[] ManifestJson)
{
    public const string ModelFile = "model.onnx";
    public const string PreprocessingFile = "preprocess.onnx";
    public const string ManifestFile = "manifest.json";
    public const string CatalogFile = "catalog.json";

    /// <summary>The manifest of a package staged for intake: written by the api role, read and removed by the render silo that catalogs it.</summary>
    public const string IntakeFile = "intake.json";

    /// <summary>The files of a package and its version, read without cataloging or storing anything: enough to decide whether to go on.</summary>
    public static async Task<ModelPackage> ReadAsync(ModelManifest manifest, CancellationToken cancellationToken = default)
    {
        var model = await File.ReadAllBytesAsync(manifest.ModelPath, cancellationToken);
        var preprocessing = manifest.PreprocessingModelPath is { } p ? await File.ReadAllBytesAsync(p, cancellationToken) : null;
        var stored = manifest with { Model = ModelFile, Input = manifest.Input with { PreprocessingModel = preprocessing is null ? null : PreprocessingFile } };
        var manifestJson = JsonSerializer.SerializeToUtf8Bytes(stored, ModelManifest.JsonOptions);
        return new ModelPackage(manifest, ComputeVersion(model, preprocessing, manifestJson), model, preprocessing, manifestJson);
    }

    /// <summary>
    /// What the api role stages as <see cref="IntakeFile"/>: the manifest and its assumptions (which the
    /// manifest's own JSON leaves out, and which become the model's notes).
    /// </summary>
    public byte[] IntakeJson() =>
        JsonSerializer.SerializeToUtf8Bytes(new Intake(JsonSerializer.Deserialize<JsonElement>(ManifestJson), [.. Manifest.Assumptions]), ModelManifest.JsonOptions);

    /// <summary>
    /// A staged package back from its files, with its model files written to <paramref name="folder"/>
    /// (the catalog reads them from there); the version is hashed again, so a package staged under one
    /// version and read as another is refused.
    /// </summary>
    public static ModelPackage FromIntake(string version, byte[] intakeJson, byte[] model, byte[]? preprocessing, string folder)
    {
        var intake = JsonSerializer.Deserialize<Intake>(intakeJson, ModelManifest.JsonOptions)
            ?? throw new ModelFormatException("the staged package has no manifest; upload the model again.");
        var manifest = intake.Manifest.Deserialize<ModelManifest>(ModelManifest.JsonOptions)!
            with { BaseDirectory = folder, Assumptions = intake.Assumptions };
        File.WriteAllBytes(Path.Combine(folder, ModelFile), model);
        if (preprocessing is not null)
        {
            File.WriteAllBytes(Path.Combine(folder, PreprocessingFile), preprocessing);
        }

        var manifestJson = JsonSerializer.SerializeToUtf8Bytes(manifest, ModelManifest.JsonOptions);
        var actual = ComputeVersion(model, preprocessing, manifestJson);
        return actual == version
            ? new ModelPackage(manifest, version, model, preprocessing, manifestJson)
            : throw new ModelFormatException($"the package staged as version {version} hashes to {actual}: its files changed after the upload; upload the model again.");
    }

    private sealed record Intake(JsonElement Manifest, IReadOnlyList<string> Assumptions);

    /// <summary>16 hex digits of SHA-256 over the model, the preprocessing model and the manifest, each length-prefixed.</summary>
    public static string ComputeVersion(byte[] model, byte[]? preprocessing, byte[] manifestJson)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var part in new[] { model, preprocessing ?? [], manifestJson })
        {
            hash.AppendData(BitConverter.GetBytes((long)part.Length));
            hash.AppendData(part);
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset())[..16];
    }
}
