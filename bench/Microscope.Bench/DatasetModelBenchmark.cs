using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microscope.Farm;
using Microscope.Farm.Grains;
using Microscope.Inference;
using Microscope.Lenses.DatasetExamples;
using Microscope.Onnx;
using Microscope.Organisms;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.TestingHost;
using Spectre.Console;

namespace Microscope.Bench;

/// <summary>
/// Dataset examples of a whole model (resnet18, 34 layers, 8,896 units), side by side in one run:
/// the forward pass over the images (decoding included) against the scan that captures every layer;
/// the mosaics and JSON of every unit; the CLI's whole job (`render --layer all`); and a dataset job
/// on 1 and 4 render silos of an in-process cluster whose device is simulated with the shard and
/// merge times measured here (the 2 shared cores would hide any scaling of real compute).
/// </summary>
internal static class DatasetModelBenchmark
{
    public static int Run(string[] args)
    {
        var folder = LensBenchmarks.Dataset(args);
        var count = LensBenchmarks.Option(args, "--images", 1000);
        var shards = LensBenchmarks.Option(args, "--shards", 8);
        var skipCli = args.Contains("--no-cli");
        var sample = Math.Max(1, LensBenchmarks.Option(args, "--unit-sample", 1));
        var farmSeconds = LensBenchmarks.Option(args, "--farm-seconds", 60);
        var manifest = OrganismRegistry.Default.Resolve("resnet18");
        var vision = OrganismRegistry.Compose(manifest);
        var sessions = new SessionFactory(new SessionSettings());
        var catalog = LayerCatalogBuilder.Build(manifest, vision, sessions);
        var files = DatasetScanner.Files(folder).Take(count).ToList();
        var size = vision.Spec.ForwardSize;
        const int top = 9;
        const int batch = 16;
        var last = catalog.Layers[^1];
        AnsiConsole.MarkupLine($"load before: {Markup.Escape(Load())}");

        // Warm-up: both sessions' first runs, and the JIT.
        DatasetScanner.Scan(vision, [last], folder, files.Take(batch).ToList(), size, top, batch, sessions);
        DatasetScanner.Scan(vision, catalog.Layers, folder, files.Take(batch).ToList(), size, top, batch, sessions);

        var forward = Time("forward pass", () => DatasetScanner.Scan(vision, [last], folder, files, size, top, batch, sessions));
        DatasetScan scan = null!;
        var all = Time("scan of every layer", () => scan = DatasetScanner.Scan(vision, catalog.Layers, folder, files, size, top, batch, sessions));

        // The mosaics and JSON of every unit (or every sample-th), as a merge makes them: one decode per example image.
        var images = ExampleImages.InFolder(folder, size);
        long jsonBytes = 0;
        var drawn = 0;
        var mosaicCpu = CpuTime("mosaics and JSON", () =>
        {
            foreach (var layer in scan.Layers)
            {
                var chosen = Enumerable.Range(0, layer.Units.Length).Where(u => u % sample == 0).ToList();
                var pngs = Mosaic.RenderAll(images, [.. chosen.Select(u => layer.Units[u].Top)], layer.Field);
                foreach (var (u, i) in chosen.Select((u, i) => (u, i)))
                {
                    jsonBytes += JsonSerializer.SerializeToUtf8Bytes(ExamplesDocument.Create(manifest.Id, layer.Layer.Id, u, layer.Units[u], layer.Field)).Length + pngs[i].Length;
                }

                drawn += chosen.Count;
            }
        });
        var mosaics = mosaicCpu.Wall;
        var units = catalog.TotalUnits;

        var cli = skipCli ? double.NaN : Time("the CLI's whole job", () => CliWholeJob(folder, files));
        // Device times as measured, scaled so that one silo takes about --farm-seconds (the ratio is what counts).
        var scale = farmSeconds / (all + (mosaics * units / drawn));
        var (oneSilo, fourSilos) = FarmScaling(catalog, shards, scale * all / shards, scale * mosaics * 1000 / drawn);
        AnsiConsole.MarkupLine($"farm: {oneSilo:F1} s on 1 silo, {fourSilos:F1} s on 4");

        var table = new Table().AddColumns("what", "units", "seconds", "per image / per unit", "vs forward pass", "target");
        table.AddRow("forward pass to the last layer (decoding included)", F(last.Units), F(forward, "F1"), F(files.Count / forward, "F1") + " img/s", "1.00×", "");
        table.AddRow($"scan capturing all {catalog.Layers.Count} layers (top-{top}, bottom-{top}, statistics)", F(units), F(all, "F1"), F(files.Count / all, "F1") + " img/s", F(all / forward, "F2") + "×", "≤ 1.20×");
        table.AddRow($"mosaic PNG + JSON ({images.Decodes} images decoded once, {jsonBytes / 1e6:F1} MB), wall", F(drawn), F(mosaics, "F1"), F(mosaics * 1000 / drawn, "F2") + " ms/unit", "", "≤ 5 ms/unit");
        table.AddRow("the same, CPU time of this process (all threads)", F(drawn), F(mosaicCpu.Cpu, "F1"), F(mosaicCpu.Cpu * 1000 / drawn, "F2") + " ms/unit", "", "");
        table.AddRow("scan + mosaics of every unit (mosaics extrapolated from the sample)", F(units), F(all + (mosaics * units / drawn), "F1"), "", F((all + (mosaics * units / drawn)) / forward, "F2") + "×", "");
        table.AddRow("CLI whole job: render resnet18 --layer all --lens dataset-examples (a process)", F(units), F(cli, "F1"), "", F(cli / forward, "F2") + "×", "");
        table.AddRow($"farm, 1 render silo, simulated device ({shards} shards, merges of {JobPlanner.MergeUnits} units; times ×{scale:F3})", F(units), F(oneSilo, "F1"), "", "", "");
        table.AddRow("farm, 4 render silos, simulated device", F(units), F(fourSilos, "F1"), "", F(fourSilos / oneSilo, "F2") + "× of 1 silo", "≤ 0.35×");
        AnsiConsole.MarkupLine($"[bold]Dataset examples of resnet18 over {files.Count} images of {Markup.Escape(folder)}[/] ({scan.Skipped.Count} skipped), batch {batch}, {Environment.ProcessorCount} cores");
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"load after: {Markup.Escape(Load())}");
        return 0;
    }

    /// <summary>The CLI as a user runs it, on a folder of links to the same images.</summary>
    private static void CliWholeJob(string folder, IReadOnlyList<string> files)
    {
        var root = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../.."));
        var work = Directory.CreateTempSubdirectory("microscope-bench-cli-").FullName;
        try
        {
            var images = Path.Combine(work, "images");
            foreach (var file in files)
            {
                var link = Path.Combine(images, file);
                Directory.CreateDirectory(Path.GetDirectoryName(link)!);
                File.CreateSymbolicLink(link, Path.Combine(folder, file));
            }

            var info = new ProcessStartInfo(Path.Combine(root, "microscope"), ["render", "resnet18", "--layer", "all", "--lens", "dataset-examples", "--dataset", images, "--top", "9", "--batch", "16", "--out", Path.Combine(work, "out")])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using var process = Process.Start(info)!;
            var error = process.StandardError.ReadToEndAsync();
            process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException("the CLI failed: " + error.Result);
            }
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>The model's dataset job on 1 and 4 silos (one render slot each, a device each), shard and merge times as measured.</summary>
    private static (double One, double Four) FarmScaling(LayerCatalog catalog, int shards, double shardSeconds, double mergeMsPerUnit)
    {
        var model = new ModelInfo("bench-resnet18", "v1", "resnet18's layers", "bench",
            [.. catalog.Layers.Select((l, i) => new LayerInfo(l.Id, l.Op, l.Shape, i))], "models/bench-resnet18/v1", [FarmLenses.DatasetExamples.Name], [], DateTimeOffset.UtcNow);
        var device = new DatasetDevice(TimeSpan.FromSeconds(shardSeconds), mergeMsPerUnit);
        return (RunJob(1, model, shards, device), RunJob(4, model, shards, device));
    }

    private static double RunJob(int silos, ModelInfo model, int shards, DatasetDevice device)
    {
        var builder = new InProcessTestClusterBuilder((short)silos);
        builder.Options.ConfigureFileLogging = false;
        builder.ConfigureSiloHost((_, host) => host.Logging.SetMinimumLevel(LogLevel.Warning));
        builder.ConfigureClientHost(host => host.Logging.SetMinimumLevel(LogLevel.Warning));
        builder.ConfigureSilo((options, silo) =>
        {
            silo.AddMemoryGrainStorage(FarmStorageNames.Jobs).AddMemoryGrainStorage(FarmStorageNames.Index);
            silo.AddFarmGrains();
            silo.Services.AddSingleton<IRenderEngine>(device);
            silo.Services.AddRenderWorker(options.SiloName, w =>
            {
                w.Slots = 1;
                w.PollInterval = TimeSpan.FromMilliseconds(20);
                w.HeartbeatInterval = TimeSpan.FromMilliseconds(200);
            });
        });
        var cluster = builder.Build();
        try
        {
            cluster.DeployAsync().GetAwaiter().GetResult();
            var client = cluster.Client;
            client.GetGrain<IModelGrain>(model.Id).RegisterAsync(model).GetAwaiter().GetResult();
            while (!client.GetGrain<IWorkerRegistryGrain>(0).ListAsync().GetAwaiter().GetResult().Any(w => w.Alive))
            {
                Thread.Sleep(100);
            }

            var job = client.GetGrain<IJobDirectoryGrain>(0).SubmitAsync(new JobSpec { Model = model.Id, Lenses = [FarmLenses.DatasetExamples.Name], DatasetShards = shards }).GetAwaiter().GetResult();
            while (true)
            {
                var status = client.GetGrain<IJobGrain>(job.Id).GetStatusAsync().GetAwaiter().GetResult();
                if (status.IsFinished)
                {
                    return status.State == JobState.Completed
                        ? (status.FinishedAt!.Value - status.SubmittedAt).TotalSeconds
                        : throw new InvalidOperationException($"the farm's job ended {status.State}: {status.Counts}");
                }

                Thread.Sleep(100);
            }
        }
        finally
        {
            cluster.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    /// <summary>A device that takes a shard's measured scan time and a merge's measured time per unit, and uses no CPU.</summary>
    private sealed class DatasetDevice(TimeSpan shard, double mergeMsPerUnit) : IRenderEngine
    {
        public IReadOnlyList<string> Datasets { get; } = ["default"];

        public async Task<WorkResult> RenderAsync(WorkItem item, IProgress<int>? steps, CancellationToken cancellationToken)
        {
            var time = item.Kind == WorkKind.DatasetShard ? shard : TimeSpan.FromMilliseconds(mergeMsPerUnit * item.Units.Count);
            await Task.Delay(time, cancellationToken);
            var hash = item.Options.Hash();
            return new WorkResult([.. item.Units.Select(u => Scheduling.SimulatedDevice.Record(item, u, hash))], true, time.TotalSeconds, 0);
        }
    }

    private static double Time(string what, Action action)
    {
        var clock = Stopwatch.StartNew();
        action();
        AnsiConsole.MarkupLine($"{what}: {clock.Elapsed.TotalSeconds:F1} s (load {Markup.Escape(Load())})");
        return clock.Elapsed.TotalSeconds;
    }

    private static (double Wall, double Cpu) CpuTime(string what, Action action)
    {
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var wall = Time(what, action);
        return (wall, (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds);
    }

    private static string Load() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "unknown";

    private static string F(int value) => value.ToString("N0", CultureInfo.InvariantCulture);

    private static string F(double value, string format) => double.IsNaN(value) ? "-" : value.ToString(format, CultureInfo.InvariantCulture);
}
