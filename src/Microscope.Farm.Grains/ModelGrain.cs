using Microsoft.Extensions.Logging;

namespace Microscope.Farm.Grains;

[GenerateSerializer]
public sealed class ModelState
{
    [Id(0)] public ModelInfo? Model { get; set; }

    /// <summary>The newest upload's intake: its version, job and when it was submitted.</summary>
    [Id(1)] public ModelIntakeStatus? Intake { get; set; }
}

/// <summary>A model organism: its stored package, catalog, offered lenses and version (a content hash).</summary>
internal sealed class ModelGrain(
    [PersistentState("model", FarmStorageNames.Index)] IPersistentState<ModelState> state,
    ILogger<ModelGrain> logger) : Grain, IModelGrain
{
    public async Task<ModelInfo> RegisterAsync(ModelInfo model)
    {
        if (model.Id != this.GetPrimaryKeyString())
        {
            throw new FarmInputException($"model '{model.Id}' cannot be registered as '{this.GetPrimaryKeyString()}'.");
        }

        // A model held from before layer graphs were cataloged takes the same version's graph.
        if (state.State.Model is { } held && held.Version == model.Version && (held.Edges.Count > 0 || model.Edges.Count == 0))
        {
            return held;
        }

        logger.LogInformation("Model {Model} registered at version {Version} ({Layers} layers, {Units} units; was {Previous})",
            model.Id, model.Version, model.Layers.Count, model.TotalUnits, state.State.Model?.Version ?? "none");
        state.State.Model = model;
        await state.WriteStateAsync();
        await GrainFactory.GetGrain<IModelDirectoryGrain>(0).AddAsync(model.Id);
        return model;
    }

    public Task<ModelInfo?> GetAsync() => Task.FromResult(state.State.Model);

    public async Task<ModelIntakeStatus> StartIntakeAsync(string version, string owner)
    {
        if (await IntakeStatusAsync() is { State: not ModelIntakeState.Failed } current && current.Version == version
            && !(current.State == ModelIntakeState.Ready && state.State.Model is { Edges.Count: 0 }))
        {
            return current;
        }

        var job = await GrainFactory.GetGrain<IJobDirectoryGrain>(0).SubmitIntakeAsync(this.GetPrimaryKeyString(), version, owner);
        state.State.Intake = new ModelIntakeStatus(this.GetPrimaryKeyString(), version, ModelIntakeState.Pending, null, job.Id, job.SubmittedAt);
        await state.WriteStateAsync();
        return state.State.Intake;
    }

    /// <summary>The intake as its job tells it: ready once the model is registered at its version, failed with the job's error.</summary>
    public async Task<ModelIntakeStatus?> IntakeStatusAsync()
    {
        var (model, intake) = (state.State.Model, state.State.Intake);
        if (intake is null || intake.Version == model?.Version)
        {
            return model is null ? null
                : new ModelIntakeStatus(model.Id, model.Version, ModelIntakeState.Ready, null, intake?.Job, intake?.SubmittedAt ?? model.RegisteredAt);
        }

        if (intake.Job is not { } id)
        {
            return intake;
        }

        var job = await GrainFactory.GetGrain<IJobGrain>(id).GetStatusAsync();
        return job.State switch
        {
            JobState.Completed => intake with { State = ModelIntakeState.Ready },
            JobState.Failed => intake with { State = ModelIntakeState.Failed, Reason = Reason(job) },
            JobState.Cancelled => intake with { State = ModelIntakeState.Failed, Reason = $"its intake job {job.Id} was cancelled; upload the model again." },
            _ => intake,
        };
    }

    /// <summary>The catalog's error without the exception type the worker prefixes it with.</summary>
    private static string Reason(JobStatus job) =>
        job.Failures.FirstOrDefault()?.Error is not { } error ? $"its intake job {job.Id} failed; see GET /api/jobs/{job.Id}."
        : error.IndexOf(": ", StringComparison.Ordinal) is var colon and > 0 && error[..colon].EndsWith("Exception", StringComparison.Ordinal) && !error[..colon].Contains(' ', StringComparison.Ordinal) ? error[(colon + 2)..]
        : error;
}

[GenerateSerializer]
public sealed class ModelDirectoryState
{
    [Id(0)] public SortedSet<string> Models { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>Every registered model id, in order.</summary>
internal sealed class ModelDirectoryGrain(
    [PersistentState("models", FarmStorageNames.Index)] IPersistentState<ModelDirectoryState> state) : Grain, IModelDirectoryGrain
{
    public async Task AddAsync(string model)
    {
        if (state.State.Models.Add(model))
        {
            await state.WriteStateAsync();
        }
    }

    public Task<IReadOnlyList<string>> ListAsync() => Task.FromResult<IReadOnlyList<string>>([.. state.State.Models]);
}
