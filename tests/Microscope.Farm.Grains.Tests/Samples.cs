namespace Microscope.Farm.Grains.Tests;

/// <summary>Small models, jobs and workers for the tests.</summary>
internal static class Samples
{
    public static readonly SchedulingOptions Options = new() { LeaseDuration = TimeSpan.FromSeconds(30), MaxAttempts = 3, WorkerFailuresBeforeExclusion = 2 };

    public static ModelInfo Model(string id = "tiny", string version = "v1") => new(
        id, version, "A tiny model", "tests",
        [new LayerInfo("conv1", "Conv", [4, 8, 8], 0), new LayerInfo("conv2", "Conv", [6, 4, 4], 1), new LayerInfo("logits", "Gemm", [3], 2)],
        $"models/{id}/{version}", [.. FarmLenses.All.Select(l => l.Name)], [], DateTimeOffset.UnixEpoch);

    public static WorkerInfo Worker(string id, params string[] tags) => new(id, "silo-" + id, "cpu", tags, 2);

    public static JobLedger Ledger(JobSpec spec, DateTimeOffset now)
    {
        var ledger = new JobLedger();
        ledger.Create("job-1", spec, "v1", JobPlanner.Plan("job-1", spec, Model()), now, null);
        return ledger;
    }
}
