using Microscope.Farm.Storage;
using Microscope.Onnx;
using Microscope.Organisms;

namespace Microscope.Farm.Rendering;

/// <summary>
/// Copies a model package from the lens store into {folder}/{model}/{version}/. The files go into a
/// temporary folder first, are checked against the version (their content hash), and the folder is
/// renamed into place: a package folder that exists is complete and correct, whoever wrote it (other
/// processes on this machine may share the folder).
/// </summary>
internal sealed class ModelDownloader(ILensStore store, string folder)
{
    /// <summary>The package's local folder, downloaded first unless it is there.</summary>
    public async Task<string> FetchAsync(string model, string version, CancellationToken cancellationToken = default)
    {
        var target = Path.Combine(folder, LensPaths.Segment(model, "model"), LensPaths.Segment(version, "version"));
        if (File.Exists(Path.Combine(target, ModelPackages.ManifestFile)))
        {
            return target;
        }

        // The manifest is stored last, so a package without one is not (yet) published.
        if (!await store.ExistsAsync(LensPaths.Model(model, version, ModelPackages.ManifestFile), cancellationToken))
        {
            throw new FarmNotFoundException($"model '{model}' version {version} is not in the lens store ({store.Describe}); publish it again.");
        }

        var temp = $"{target}.tmp-{Guid.NewGuid():N}";
        Directory.CreateDirectory(temp);
        try
        {
            foreach (var file in new[] { ModelPackages.ModelFile, ModelPackages.PreprocessingFile, ModelPackages.ManifestFile })
            {
                await DownloadAsync(LensPaths.Model(model, version, file), Path.Combine(temp, file), cancellationToken);
            }

            Verify(model, version, temp);
            try
            {
                Directory.Move(temp, target);
            }
            catch (IOException) when (File.Exists(Path.Combine(target, ModelPackages.ManifestFile)))
            {
                // Another process on this machine fetched it first; its copy is as good as ours.
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

    /// <summary>Streams a blob to a file (a model may be hundreds of megabytes); a missing blob writes nothing.</summary>
    private async Task DownloadAsync(string path, string file, CancellationToken cancellationToken)
    {
        await using var blob = await store.OpenReadAsync(path, cancellationToken: cancellationToken);
        if (blob is null)
        {
            return;
        }

        await using var output = File.Create(file);
        await blob.Content.CopyToAsync(output, cancellationToken);
    }

    /// <summary>The version is the hash of the files: a package that does not hash to it is corrupt, and never used.</summary>
    private static void Verify(string model, string version, string temp)
    {
        string Local(string file) => Path.Combine(temp, file);
        if (!File.Exists(Local(ModelPackages.ModelFile)))
        {
            throw new ModelFormatException($"model '{model}' version {version}: the lens store has its manifest but not {ModelPackages.ModelFile}; publish it again.");
        }

        var preprocessing = File.Exists(Local(ModelPackages.PreprocessingFile)) ? File.ReadAllBytes(Local(ModelPackages.PreprocessingFile)) : null;
        var actual = ModelPackage.ComputeVersion(File.ReadAllBytes(Local(ModelPackages.ModelFile)), preprocessing, File.ReadAllBytes(Local(ModelPackages.ManifestFile)));
        if (actual != version)
        {
            throw new ModelFormatException($"model '{model}' version {version}: the stored files hash to {actual}, so the package is corrupt; publish the model again.");
        }
    }
}
