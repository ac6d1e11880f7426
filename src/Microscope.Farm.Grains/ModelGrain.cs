using Microsoft.Extensions.Logging;

namespace Microscope.Farm.Grains;

[GenerateSerializer]
public sealed class ModelState
{
    [Id(0)] public ModelInfo? Model { get; set; }
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
