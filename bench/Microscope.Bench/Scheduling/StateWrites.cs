using Microscope.Farm;
using Microscope.Farm.Grains;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Orleans.Storage;

namespace Microscope.Bench.Scheduling;

/// <summary>One grain state as a storage provider serializes it on every write.</summary>
internal sealed record StateWrite(string State, double BinaryKb, double BinaryMs, double JsonKb, double JsonMs);

/// <summary>
/// What one write of a growing grain state costs to serialize: a layer's index, which the layer
/// grain writes whole on every record, with 64, 512 and 2,048 units recorded; and a job's ledger,
/// which the job grain writes whole on every flush, at the measured job's size. Serialized as the
/// host writes file and blob state (Orleans binary) and as Orleans' default JSON.
/// </summary>
internal static class StateWrites
{
    public static IReadOnlyList<StateWrite> Measure(IServiceProvider silo, int jobItems)
    {
        var binary = new OrleansGrainStorageSerializer(silo.GetRequiredService<Serializer>());
        var json = new JsonGrainStorageSerializer(silo.GetRequiredService<OrleansJsonSerializer>());
        var writes = new List<StateWrite>();
        foreach (var units in new[] { 64, 512, 2048 })
        {
            writes.Add(Time($"layer index, {units} units recorded", LayerIndex(units), binary, json));
        }

        writes.Add(Time($"job ledger, {jobItems} items", Ledger(jobItems), binary, json));
        return writes;
    }

    private static StateWrite Time<T>(string name, T state, IGrainStorageSerializer binary, IGrainStorageSerializer json)
    {
        var (binaryMs, jsonMs) = Timing.MedianMilliseconds(() => binary.Serialize(state), () => json.Serialize(state), warmup: 2, repeats: 7);
        return new StateWrite(name, binary.Serialize(state).ToMemory().Length / 1024.0, binaryMs, json.Serialize(state).ToMemory().Length / 1024.0, jsonMs);
    }

    private static LayerIndex LayerIndex(int units)
    {
        var items = JobPlanner.Plan("job", Spec, SchedulingRun.ModelFor(1, units, units));
        var hash = items[0].Options.Hash();
        return new LayerIndex { Units = items.ToDictionary(i => i.Units[0], i => new List<LensRecord> { SimulatedDevice.Record(i, i.Units[0], hash) }) };
    }

    private static JobLedger Ledger(int items)
    {
        var ledger = new JobLedger();
        ledger.Create("job", Spec, "v1", JobPlanner.Plan("job", Spec, SchedulingRun.ModelFor(1, items, items)), DateTimeOffset.UnixEpoch, null);
        return ledger;
    }

    private static JobSpec Spec { get; } = new() { Model = SchedulingRun.Model, Layers = ["block1"], UnitsPerItem = 1 };
}
