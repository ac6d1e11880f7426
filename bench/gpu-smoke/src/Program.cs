using System.Diagnostics;
using System.Globalization;
using Microscope.Farm;
using Microscope.Farm.Grains;
using Microscope.Farm.Rendering;
using Microscope.Farm.Storage;
using Microscope.Inference;
using Microscope.Lenses;
using Microsoft.Extensions.Logging;
using Spectre.Console;

// microscope-gpu-smoke [--device cuda:0] [--compare cpu] [--targets LIST] [--steps 64] [--units 8] [--model resnet18] [--layer layer3.0.relu] [--dataset DIR]
// One work item per lens, planned by the farm's JobPlanner and rendered by its LensRenderEngine
// (exactly what a render silo runs), on each target in the same run: steps per second for each and
// their time against the first. A target is a device with an optional render loop, DEVICE[+host|+device]:
// by default the device (on CUDA with the device-resident loop), then on CUDA the same device with
// the host loop, then --compare. Exit code 0 when every lens rendered on the first target's device;
// 1 when one failed or the device fell back to another.
var device = Arg("--device", "cuda:0");
var compare = Arg("--compare", "");
var targets = Arg("--targets", "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
if (targets.Count == 0)
{
    targets.Add(device);
    if (ExecutionDevice.Parse(device).IsCuda)
    {
        targets.Add(device + "+host");
    }

    if (compare.Length > 0)
    {
        targets.Add(compare);
    }
}

var steps = int.Parse(Arg("--steps", "64"), CultureInfo.InvariantCulture);
var units = int.Parse(Arg("--units", "8"), CultureInfo.InvariantCulture);
var modelId = Arg("--model", "resnet18");
var layerId = Arg("--layer", "layer3.0.relu");
var dataset = Arg("--dataset", "");
string[] lenses = [.. FarmLenses.All.Select(l => l.Name)];

if (Console.IsOutputRedirected)
{
    // A table of three targets is wider than the 80 columns Spectre assumes for a file or a pipe.
    AnsiConsole.Profile.Width = 240;
}

using var loggers = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning));
var work = Directory.CreateTempSubdirectory("microscope-gpu-smoke-");
try
{
    if (dataset.Length == 0)
    {
        dataset = SyntheticDataset(Path.Combine(work.FullName, "dataset"), 64);
    }

    var model = await ModelPackages.PublishOrganismAsync(new FileSystemLensStore(Path.Combine(work.FullName, "probe")), modelId);
    var layer = model.Layer(layerId);
    AnsiConsole.MarkupLine($"[bold]GPU smoke[/]: {Markup.Escape(model.Id)} {Markup.Escape(layer.Id)} ({layer.Units} units), {steps} steps, {units} units an item, {Environment.ProcessorCount} cores, dataset {Markup.Escape(dataset)}");

    var results = new Dictionary<(string Target, string Lens), (string Used, double StepsPerSecond, double Seconds, string? Error)>();
    foreach (var target in targets)
    {
        // A store per target: the engine skips what is already stored, so each target renders everything itself.
        var (asked, loop) = ParseTarget(target);
        var folder = target.Replace(':', '-').Replace('+', '-');
        var store = new FileSystemLensStore(Path.Combine(work.FullName, "lenses-" + folder));
        await ModelPackages.PublishOrganismAsync(store, modelId);
        var settings = new SessionSettings { Device = ExecutionDevice.Parse(asked), Loop = loop };
        var actual = DeviceProbe.Probe(new SessionFactory(settings, loggers.CreateLogger("device")));
        settings = settings with { Device = actual };
        var used = $"{actual} {(settings.ResidentLoop ? "device" : "host")}-loop";
        var cache = new ModelCache(store, Path.Combine(work.FullName, "cache-" + folder), settings, loggers.CreateLogger<ModelCache>());
        // Warm-up and timed renders write to two stores: the same outputs would be found stored and skipped.
        var options = new RenderEngineOptions { Datasets = new Dictionary<string, string> { ["default"] = dataset } };
        var engines = new[] { new LensRenderEngine(store, cache, options), new LensRenderEngine(new FileSystemLensStore(Path.Combine(work.FullName, "timed-" + folder)), cache, options) };
        foreach (var lens in lenses)
        {
            // The first render warms up (the model's sessions are made and cached); the second, the same work into another store, is timed.
            var counter = new StepCounter();
            var watch = new Stopwatch();
            string? error = null;
            try
            {
                foreach (var engine in engines)
                {
                    var spec = new JobSpec
                    {
                        Model = model.Id, Layers = [layer.Id], Lenses = [lens], Units = [.. Enumerable.Range(0, Math.Min(units, layer.Units))],
                        UnitsPerItem = units, Options = new LensOptions { Steps = steps, Size = 128, Seed = 1 },
                    };
                    var timed = engine == engines[1];
                    counter.Counting = timed;
                    watch.Restart();

                    // In plan order: a dataset's shards come before the merge that depends on them.
                    foreach (var item in JobPlanner.Plan($"smoke-{folder}-{lens}", spec, model))
                    {
                        AnsiConsole.MarkupLine($"{(timed ? "timed" : "warm-up")}: {Markup.Escape(item.Describe())} on {used}");
                        await engine.RenderAsync(item, counter, CancellationToken.None);
                    }

                    watch.Stop();
                }
            }
            catch (Exception e)
            {
                error = $"{e.GetType().Name}: {e.Message}";
            }

            var seconds = watch.Elapsed.TotalSeconds;
            results[(target, lens)] = (used, counter.Steps / seconds, seconds, error);
        }
    }

    var first = targets[0];
    var table = new Table().AddColumns("lens", $"{first}: ran on", "seconds", "steps/s");
    foreach (var other in targets.Skip(1))
    {
        table.AddColumns($"{other}: ran on", "seconds", "steps/s", $"time vs {first}");
    }

    var ok = true;
    var firstDevice = ParseTarget(first).Device;
    foreach (var lens in lenses)
    {
        var r = results[(first, lens)];
        ok &= r.Error is null && r.Used.StartsWith(firstDevice + " ", StringComparison.Ordinal);
        var row = new List<string> { lens, r.Error is null ? r.Used : "[red]failed[/]", F(r.Seconds, "F2"), Rate(r.StepsPerSecond) };
        foreach (var other in targets.Skip(1))
        {
            var c = results[(other, lens)];
            row.AddRange([c.Error is null ? c.Used : "[red]failed[/]", F(c.Seconds, "F2"), Rate(c.StepsPerSecond), F(c.Seconds / r.Seconds, "F2") + "×"]);
        }

        table.AddRow([.. row]);
    }

    AnsiConsole.Write(table);
    foreach (var ((target, lens), r) in results.Where(r => r.Value.Error is not null))
    {
        AnsiConsole.MarkupLine($"[red]{Markup.Escape(lens)} on {Markup.Escape(target)}[/]: {Markup.Escape(r.Error!)}");
    }

    AnsiConsole.MarkupLine("seconds: the timed render of one work item per lens (after a warm-up render that made the sessions), image encoding and store writes included; steps/s: optimization steps (forward and backward of the whole batch) a second; tuning and dataset-examples run forward passes only (–); time vs the first target: its seconds over the first's (above 1: the first is faster). The device loop keeps the gradient lenses' state on the device (featurevis, neuron, negative, diversity, caricature, deepdream); tuning and dataset-examples run the same either way.");
    return ok ? 0 : 1;
}
finally
{
    work.Delete(recursive: true);
}

string Arg(string name, string fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}

static (string Device, RenderLoop Loop) ParseTarget(string target)
{
    var parts = target.Split('+', 2);
    var loop = parts.Length == 1 ? RenderLoop.Auto : Enum.Parse<RenderLoop>(parts[1], ignoreCase: true);
    return (ExecutionDevice.Parse(parts[0]).ToString(), loop);
}

static string F(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);

static string Rate(double stepsPerSecond) => stepsPerSecond > 0 ? F(stepsPerSecond, "F1") : "–";

// Images for the dataset-examples lens where no dataset is given: seeded noise, enough to run the scan.
static string SyntheticDataset(string folder, int count)
{
    Directory.CreateDirectory(folder);
    var random = new Random(7);
    for (var i = 0; i < count; i++)
    {
        var image = new float[3 * 64 * 64];
        for (var p = 0; p < image.Length; p++)
        {
            image[p] = (float)random.NextDouble();
        }

        File.WriteAllBytes(Path.Combine(folder, $"noise-{i:D3}.png"), Png.Encode(image, 64, 64));
    }

    return folder;
}

internal sealed class StepCounter : IProgress<int>
{
    private long steps;

    public long Steps => Interlocked.Read(ref steps);

    /// <summary>Only the timed render counts.</summary>
    public bool Counting { get; set; }

    public void Report(int value)
    {
        if (Counting)
        {
            Interlocked.Add(ref steps, value);
        }
    }
}
