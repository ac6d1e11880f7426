using Microscope.Farm.Storage;
using Microscope.Organisms;

namespace Microscope.Farm.Api;

/// <summary>
/// Model intake as the api role does it: stage a package's raw files in the lens store and start
/// its intake job, which a render silo runs (the probe run, the catalog, the gradient build) before
/// the model is registered. Uploads and the configured organisms both come in this way, so the api
/// role never runs a model.
/// </summary>
public static class ModelIntake
{
    /// <summary>Stages <paramref name="package"/> and starts its intake; a version already registered is ready at once and stages nothing.</summary>
    public static async Task<ModelIntakeStatus> StartAsync(IGrainFactory grains, ILensStore store, ModelPackage package, string owner, CancellationToken cancellationToken)
    {
        var (id, version) = (package.Manifest.Id, package.Version);
        var registry = grains.GetGrain<IModelGrain>(id);
        // A version held from before layer graphs were catalogued is taken in again, for its graph.
        if (await registry.GetAsync() is { Edges.Count: > 0 } held && held.Version == version && await registry.IntakeStatusAsync() is { } ready)
        {
            return ready;
        }

        // Content-addressed, so a retried upload writes nothing twice; the intake file goes last.
        await store.PutIfAbsentAsync(LensPaths.Model(id, version, ModelPackage.ModelFile), package.Model, ContentTypes.Onnx, cancellationToken);
        if (package.Preprocessing is { } preprocessing)
        {
            await store.PutIfAbsentAsync(LensPaths.Model(id, version, ModelPackage.PreprocessingFile), preprocessing, ContentTypes.Onnx, cancellationToken);
        }

        await store.PutAsync(LensPaths.Model(id, version, ModelPackage.IntakeFile), package.IntakeJson(), ContentTypes.Json, cancellationToken);
        return await registry.StartIntakeAsync(version, owner);
    }

    /// <summary>Polls the intake until it is no longer pending (or <paramref name="cancellationToken"/> ends the wait).</summary>
    public static async Task<ModelIntakeStatus> WaitAsync(IGrainFactory grains, string model, TimeSpan poll, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (await grains.GetGrain<IModelGrain>(model).IntakeStatusAsync() is { State: not ModelIntakeState.Pending } done)
            {
                return done;
            }

            await Task.Delay(poll, cancellationToken);
        }
    }
}
