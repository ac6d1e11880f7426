using System.Diagnostics;
using Microscope.Farm;
using Microscope.Farm.Grains;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Hosting;
using Orleans.Serialization;
using Orleans.Storage;
using Orleans.TestingHost;

namespace Microscope.Bench.Scheduling;

/// <summary>
/// What every cluster size runs with: slots per silo, the simulated render time, the workers' poll
/// intervals, units per layer of the benchmark's model (one layer grain records them all), whether
/// renders report their lenses (false only for the ablation), and whether grain state is written
/// as Orleans' default JSON rather than with the Orleans binary serializer the farm host uses.
/// </summary>
internal sealed record SchedulingSettings(int Slots, TimeSpan RenderTime, TimeSpan PollInterval, TimeSpan MaxPollInterval, int LayerUnits, bool Records, bool JsonState);

/// <summary>What one cluster size achieved on the measured job.</summary>
internal sealed record SchedulingResult(
    int Silos,
    int Slots,
    int Items,
    double Seconds,
    double IdealPerSecond,
    double GapP50,
    double GapP99,
    double GapMean,
    double RenderMean,
    double CpuBusy,
    double CpuMsPerItem,
    long Retries,
    long LeaseExpirations,
    IReadOnlyList<(string Call, double PerItem, double WaitMs, double RunMs)> Calls,
    IReadOnlyList<StateWrite> StateWrites)
{
    public double AchievedPerSecond => Items / Seconds;

    public double Efficiency => AchievedPerSecond / IdealPerSecond;

    /// <summary>Slot time per item spent on anything but the nominal render.</summary>
    public double OverheadMs(double renderMs) => (Silos * Slots * Seconds * 1000 / Items) - renderMs;
}

/// <summary>
/// One cluster size: that many silos of the real Orleans runtime in this process, each with a render
/// worker of <c>slots</c> slots on a <see cref="SimulatedDevice"/>; memory grain storage with the
/// host's state serializer (Orleans binary, as for its file and blob storage). A warm-up
/// job (ten items per slot) activates the directory, model and workers and lets the JIT settle; then
/// the measured job runs, timed by the job's own clock: from its first lease to its last completion.
/// </summary>
internal sealed class SchedulingRun(int silos, SchedulingSettings settings)
{
    public const string Model = "bench";
    private readonly RenderLog log = new();
    private readonly GrainCallProfile profile = new();

    private int SlotsTotal => silos * settings.Slots;

    private double IdealPerSecond => SlotsTotal * 1000.0 / settings.RenderTime.TotalMilliseconds;

    /// <param name="stateWrites">Also time the serialization of growing layer and job states (after the job, on an idle cluster).</param>
    public async Task<SchedulingResult> MeasureAsync(double seconds, bool stateWrites)
    {
        var items = (int)Math.Ceiling(seconds * IdealPerSecond / SlotsTotal) * SlotsTotal;
        var warmup = SlotsTotal * 10;
        var model = ModelFor(warmup, items, settings.LayerUnits);
        await using var cluster = Build();
        await cluster.DeployAsync();
        var client = cluster.Client;
        await client.GetGrain<IModelGrain>(Model).RegisterAsync(model);
        var directory = client.GetGrain<IJobDirectoryGrain>(0);

        await WaitAsync(client, await directory.SubmitAsync(Job(["warmup"])), items: warmup);

        log.Reset();
        profile.Reset();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var wall = Stopwatch.StartNew();
        var done = await WaitAsync(client, await directory.SubmitAsync(Job([.. model.Layers.Skip(1).Select(l => l.Id)])), items);
        cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu;
        if (done.State != JobState.Completed || done.Counts.Done != items)
        {
            throw new InvalidOperationException($"the measured job ended {done.State} with {done.Counts}; expected {items} items done.");
        }

        var (p50, p99, mean, render) = log.Summary();
        IReadOnlyList<StateWrite> writes = stateWrites ? StateWrites.Measure(cluster.GetSiloServiceProvider(), items) : [];
        return new SchedulingResult(silos, settings.Slots, items, (done.FinishedAt!.Value - done.StartedAt!.Value).TotalSeconds, IdealPerSecond,
            p50, p99, mean, render, cpu / (wall.Elapsed * Environment.ProcessorCount), cpu.TotalMilliseconds / items, done.Retries, done.LeaseExpirations, profile.PerItem(items), writes);
    }

    private InProcessTestCluster Build()
    {
        var builder = new InProcessTestClusterBuilder((short)silos);
        builder.Options.ConfigureFileLogging = false;
        builder.ConfigureSiloHost((_, host) => Quiet(host.Logging));
        builder.ConfigureClientHost(host => Quiet(host.Logging));
        builder.ConfigureSilo((options, silo) =>
        {
            foreach (var name in new[] { FarmStorageNames.Jobs, FarmStorageNames.Index })
            {
                silo.AddMemoryGrainStorage(name, storage => storage.Configure<Serializer>((o, serializer) =>
                {
                    if (!settings.JsonState)
                    {
                        o.GrainStorageSerializer = new OrleansGrainStorageSerializer(serializer);
                    }
                }));
            }

            silo.AddFarmGrains();
            silo.AddIncomingGrainCallFilter(profile);
            silo.AddOutgoingGrainCallFilter(profile);
            silo.Services.AddSingleton<IRenderEngine>(new SimulatedDevice(settings.RenderTime, log, settings.Records));
            silo.Services.AddRenderWorker(options.SiloName, w =>
            {
                w.Slots = settings.Slots;
                w.PollInterval = settings.PollInterval;
                w.MaxPollInterval = settings.MaxPollInterval;
            });
        });
        return builder.Build();
    }

    /// <summary>Warnings and errors only (a lapsed lease or a retry would say so); Orleans' start-up chatter is left out.</summary>
    private static void Quiet(ILoggingBuilder logging) => logging.SetMinimumLevel(LogLevel.Warning);

    /// <summary>A warm-up layer, then layers of <paramref name="layerUnits"/> units (the last one partial) holding exactly the measured job's units.</summary>
    internal static ModelInfo ModelFor(int warmup, int items, int layerUnits)
    {
        var layers = new List<LayerInfo> { new("warmup", "Conv", [warmup, 7, 7], 0) };
        for (var left = items; left > 0; left -= layerUnits)
        {
            layers.Add(new LayerInfo($"block{layers.Count}", "Conv", [Math.Min(left, layerUnits), 7, 7], layers.Count));
        }

        return new ModelInfo(Model, "v1", "Scheduling benchmark model", "bench", layers, $"models/{Model}/v1",
            [FarmLenses.FeatureVis.Name], [], DateTimeOffset.UtcNow);
    }

    private static JobSpec Job(IReadOnlyList<string> layers) => new() { Model = Model, Layers = layers, UnitsPerItem = 1 };

    private async Task<JobStatus> WaitAsync(IClusterClient client, JobStatus submitted, int items)
    {
        var deadline = Stopwatch.StartNew();
        var limit = TimeSpan.FromSeconds(30 + (20 * items / IdealPerSecond));
        var job = client.GetGrain<IJobGrain>(submitted.Id);
        while (true)
        {
            var status = await job.GetStatusAsync();
            if (status.IsFinished)
            {
                return status;
            }

            if (deadline.Elapsed > limit)
            {
                throw new TimeoutException($"job {status.Id} is {status.State} with {status.Counts} after {limit.TotalSeconds:F0} s; expected about {items / IdealPerSecond:F1} s.");
            }

            await Task.Delay(100);
        }
    }
}
