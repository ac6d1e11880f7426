using System.Diagnostics;
using Microscope.Farm.Storage;
using Microscope.Inference;
using Microscope.Onnx;
using Microscope.Organisms;

namespace Microscope.Farm.Rendering;

/// <summary>
/// A render silo's engine with model intake in front: an intake item (<see cref="WorkKind.Intake"/>)
/// catalogs a package the api role staged in the lens store (the probe run within
/// <paramref name="probe"/>, the layer catalog and the gradient build that decides the offered
/// lenses), stores it and registers the model; every other item goes to <paramref name="lenses"/>.
/// The api role stores raw files only, so it never loads ONNX Runtime.
/// </summary>
/// <remarks>
/// A package the catalog refuses (malformed, no image input, past the probe limits) fails its item
/// for good with the reason, which the model's status reports, and its staged files are removed.
/// </remarks>
public sealed class ModelIntakeEngine(IRenderEngine lenses, ILensStore store, IGrainFactory grains, ProbeLimits probe) : IRenderEngine
{
    public IReadOnlyList<string> Datasets => lenses.Datasets;

    public Task<WorkResult> RenderAsync(WorkItem item, IProgress<int>? steps, CancellationToken cancellationToken) =>
        item.Kind == WorkKind.Intake ? IntakeAsync(item, cancellationToken) : lenses.RenderAsync(item, steps, cancellationToken);

    private async Task<WorkResult> IntakeAsync(WorkItem item, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var registry = grains.GetGrain<IModelGrain>(item.Model);
        if (await registry.GetAsync() is { Edges.Count: > 0 } held && held.Version == item.ModelVersion)
        {
            // A retried item whose first attempt registered the model.
            return new WorkResult([], Rendered: false, 0, 0);
        }

        var folder = Path.Combine(Path.GetTempPath(), "microscope-intake-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        try
        {
            var package = ModelPackage.FromIntake(item.ModelVersion,
                await ReadAsync(item, ModelPackage.IntakeFile, cancellationToken) ?? throw new ModelFormatException($"model '{item.Model}' version {item.ModelVersion} has no staged package in the lens store; upload it again."),
                await ReadAsync(item, ModelPackage.ModelFile, cancellationToken) ?? throw new ModelFormatException($"model '{item.Model}' version {item.ModelVersion}: the staged package lacks its {ModelPackage.ModelFile}; upload it again."),
                await ReadAsync(item, ModelPackage.PreprocessingFile, cancellationToken),
                folder);
            await ModelPackages.PublishAsync(store, package, probe, model => registry.RegisterAsync(model), cancellationToken);
            await store.DeleteAsync(LensPaths.Model(item.Model, item.ModelVersion, ModelPackage.IntakeFile), cancellationToken);
        }
        catch (ModelFormatException e)
        {
            // Refused for good: nothing of it stays, and the reason names no folder of this silo.
            foreach (var file in new[] { ModelPackage.IntakeFile, ModelPackage.PreprocessingFile, ModelPackage.ModelFile })
            {
                await store.DeleteAsync(LensPaths.Model(item.Model, item.ModelVersion, file), CancellationToken.None);
            }

            throw new ModelFormatException(e.Message.Replace(folder + Path.DirectorySeparatorChar, "", StringComparison.Ordinal).Replace(folder, "upload", StringComparison.Ordinal), e);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }

        return new WorkResult([], Rendered: true, Stopwatch.GetElapsedTime(started).TotalSeconds, 0);
    }

    private async Task<byte[]?> ReadAsync(WorkItem item, string file, CancellationToken cancellationToken) =>
        (await store.GetAsync(LensPaths.Model(item.Model, item.ModelVersion, file), cancellationToken))?.Content.ToArray();
}
