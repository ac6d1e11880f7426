namespace Microscope.Farm.Grains;

[GenerateSerializer]
public sealed class LayerIndex
{
    /// <summary>Unit → its stored lenses as "lens/optionsHash".</summary>
    [Id(0)] public Dictionary<int, List<string>> Units { get; set; } = [];

    /// <summary>Lenses of the whole layer (DeepDream, caricature).</summary>
    [Id(1)] public List<LensRecord> LayerLenses { get; set; } = [];
}

/// <summary>
/// A layer: the index of which lenses its units have. Unit lenses are passed on to their unit grains
/// (which keep the full records); layer lenses are kept here.
/// </summary>
internal sealed class LayerGrain(
    [PersistentState("layer", FarmStorageNames.Index)] IPersistentState<LayerIndex> state) : Grain, ILayerGrain
{
    public async Task RecordAsync(IReadOnlyList<LensRecord> lenses)
    {
        var (model, layer) = FarmIds.ParseLayer(this.GetPrimaryKeyString());
        var changed = false;
        var units = new List<Task>();
        foreach (var lens in lenses)
        {
            var key = $"{lens.Lens}/{lens.OptionsHash}";
            if (lens.Unit < 0)
            {
                changed |= Replace(state.State.LayerLenses, lens);
                continue;
            }

            var list = state.State.Units.TryGetValue(lens.Unit, out var existing) ? existing : state.State.Units[lens.Unit] = [];
            if (!list.Contains(key))
            {
                list.Add(key);
                changed = true;
            }

            units.Add(GrainFactory.GetGrain<IUnitGrain>(FarmIds.Unit(model, layer, lens.Unit)).RecordAsync(lens));
        }

        await Task.WhenAll(units);
        if (changed)
        {
            await state.WriteStateAsync();
        }
    }

    public Task<LayerState> GetAsync()
    {
        var (model, layer) = FarmIds.ParseLayer(this.GetPrimaryKeyString());
        return Task.FromResult(new LayerState(model, layer,
            state.State.Units.ToDictionary(u => u.Key, u => (IReadOnlyList<string>)[.. u.Value]), [.. state.State.LayerLenses]));
    }

    /// <summary>Puts the record in place of one for the same lens and options; false when it was already there.</summary>
    internal static bool Replace(List<LensRecord> records, LensRecord lens)
    {
        var index = records.FindIndex(r => r.Lens == lens.Lens && r.OptionsHash == lens.OptionsHash);
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
