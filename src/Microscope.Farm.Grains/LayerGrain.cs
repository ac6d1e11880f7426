using System.Text.Json;
using Microscope.Farm.Storage;
using Microsoft.Extensions.Logging;
using Orleans.Concurrency;

namespace Microscope.Farm.Grains;

[GenerateSerializer]
public sealed class LayerIndex
{
    /// <summary>Unit → its stored lenses.</summary>
    [Id(0)] public Dictionary<int, List<LensRecord>> Units { get; set; } = [];

    /// <summary>Lenses of the whole layer (DeepDream, caricature).</summary>
    [Id(1)] public List<LensRecord> LayerLenses { get; set; } = [];
}

/// <summary>
/// A layer: the index of which lenses its units have. Unit lenses are passed on to their unit grains
/// (which answer for one unit); the layer keeps the whole index and writes it to the lens store as
/// the layer's manifest (models/{model}/{version}/layers/{layer}/index.json), at most every couple of
/// seconds, so that the store alone says what exists.
/// Every render silo's slots record into the layer being rendered, so this grain is the farm's
/// funnel: it is reentrant (its state changes happen between awaits, never across one) and commits
/// in groups: one state write covers every record that arrived while the previous write was in
/// flight, and each caller returns only once a write that includes its record has completed.
/// </summary>
[Reentrant]
internal sealed class LayerGrain(
    [PersistentState("layer", FarmStorageNames.Index)] IPersistentState<LayerIndex> state,
    TimeProvider time,
    ILogger<LayerGrain> logger,
    ILensStore? store = null) : Grain, ILayerGrain
{
    private static readonly TimeSpan ManifestDelay = TimeSpan.FromSeconds(2);
    private bool manifestDirty;
    private IGrainTimer? timer;
    private long changes;
    private long saved;
    private Task? writer;

    public async Task RecordAsync(IReadOnlyList<LensRecord> lenses)
    {
        var (model, layer) = FarmIds.ParseLayer(this.GetPrimaryKeyString());
        var changed = false;
        var units = new List<Task>();
        foreach (var lens in lenses)
        {
            if (lens.Unit < 0)
            {
                changed |= Replace(state.State.LayerLenses, lens);
                continue;
            }

            var list = state.State.Units.TryGetValue(lens.Unit, out var existing) ? existing : state.State.Units[lens.Unit] = [];
            changed |= Replace(list, lens);
            units.Add(GrainFactory.GetGrain<IUnitGrain>(FarmIds.Unit(model, layer, lens.Unit)).RecordAsync(lens));
        }

        if (changed)
        {
            changes++;
            manifestDirty = true;
        }

        await Task.WhenAll(units);
        if (changed)
        {
            await SaveAsync();
            timer ??= this.RegisterGrainTimer(WriteManifestsAsync, new GrainTimerCreationOptions(ManifestDelay, ManifestDelay) { Interleave = false });
        }
    }

    /// <summary>Returns once the state is written up to the changes made before the call (group commit).</summary>
    private async Task SaveAsync()
    {
        var mine = changes;
        while (saved < mine)
        {
            if (writer is null || writer.IsCompleted)
            {
                writer = WriteAsync();
            }

            await writer;
        }
    }

    private async Task WriteAsync()
    {
        var upTo = changes;
        await state.WriteStateAsync();
        saved = Math.Max(saved, upTo);
    }

    public Task<LayerState> GetAsync()
    {
        var (model, layer) = FarmIds.ParseLayer(this.GetPrimaryKeyString());
        return Task.FromResult(new LayerState(model, layer,
            state.State.Units.ToDictionary(u => u.Key, u => (IReadOnlyList<string>)[.. u.Value.Select(l => $"{l.Lens}/{l.OptionsHash}")]), [.. state.State.LayerLenses]));
    }

    public Task<LayerSummary> SummaryAsync() => Task.FromResult(new LayerSummary(
        state.State.Units.Count(u => u.Value.Count > 0),
        state.State.Units.Values.SelectMany(records => records.Select(r => r.Lens).Distinct()).CountBy(lens => lens).ToDictionary(),
        [.. state.State.LayerLenses.Select(r => r.Lens).Distinct().Order()]));

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken) => await WriteManifestsAsync(cancellationToken);

    /// <summary>One manifest per model version the layer has lenses of.</summary>
    private async Task WriteManifestsAsync(CancellationToken cancellationToken)
    {
        if (!manifestDirty || store is null)
        {
            return;
        }

        var (model, layer) = FarmIds.ParseLayer(this.GetPrimaryKeyString());
        var all = state.State.Units.Values.SelectMany(l => l).Concat(state.State.LayerLenses).Where(l => l.ModelVersion.Length > 0);
        try
        {
            manifestDirty = false;
            foreach (var version in all.GroupBy(l => l.ModelVersion))
            {
                var manifest = LayerManifest.Of(model, version.Key, layer, version, time.GetUtcNow());
                await store.PutAsync(LensPaths.LayerIndex(model, version.Key, layer), JsonSerializer.SerializeToUtf8Bytes(manifest, JsonSerializerOptions.Web), ContentTypes.Json, cancellationToken);
            }
        }
        catch (Exception e)
        {
            manifestDirty = true;
            logger.LogWarning(e, "Layer {Layer}: could not write its manifest to the lens store yet; will try again", this.GetPrimaryKeyString());
        }
    }

    /// <summary>Puts the record in place of one for the same lens and options; false when it was already there.</summary>
    internal static bool Replace(List<LensRecord> records, LensRecord lens)
    {
        var index = records.FindIndex(r => r.Lens == lens.Lens && r.OptionsHash == lens.OptionsHash && r.ModelVersion == lens.ModelVersion);
        if (index >= 0 && records[index].ImagePath == lens.ImagePath && records[index].DataPath == lens.DataPath)
        {
            return false;
        }

        if (index >= 0)
        {
            records[index] = lens;
        }
        else
        {
            records.Add(lens);
        }

        return true;
    }
}

[GenerateSerializer]
public sealed class UnitRecords
{
    [Id(0)] public List<LensRecord> Lenses { get; set; } = [];
}

/// <summary>A unit: which lenses exist for it, where they are stored, and their quality figures.</summary>
internal sealed class UnitGrain(
    [PersistentState("unit", FarmStorageNames.Index)] IPersistentState<UnitRecords> state) : Grain, IUnitGrain
{
    public async Task RecordAsync(LensRecord lens)
    {
        if (LayerGrain.Replace(state.State.Lenses, lens))
        {
            await state.WriteStateAsync();
        }
    }

    public Task<UnitState> GetAsync()
    {
        var (model, layer, unit) = FarmIds.ParseUnit(this.GetPrimaryKeyString());
        return Task.FromResult(new UnitState(model, layer, unit, [.. state.State.Lenses]));
    }
}
