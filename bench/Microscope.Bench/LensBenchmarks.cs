using System.Diagnostics;
using System.Globalization;
using Microscope.Inference;
using Microscope.Lenses;
using Microscope.Lenses.DatasetExamples;
using Microscope.Onnx;
using Microscope.Onnx.Gradients;
using Microscope.Optvis;
using Microscope.Organisms;
using Spectre.Console;

namespace Microscope.Bench;

/// <summary>The lens benchmarks of issue 4, on resnet18; tables of figures measured in one run.</summary>
internal static class LensBenchmarks
{
    private static readonly string[] Layers = ["layer1.0.relu", "layer3.0.relu", "layer4.2.relu"];

    private static (ModelManifest Manifest, VisionGraph Vision, LayerCatalog Catalog, SessionFactory Sessions) ResNet()
    {
        var manifest = OrganismRegistry.Default.Resolve("resnet18");
        var vision = OrganismRegistry.Compose(manifest);
        var sessions = new SessionFactory(new SessionSettings());
        return (manifest, vision, LayerCatalogBuilder.Build(manifest, vision, sessions), sessions);
    }

    private static string[]? List(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) : null;
    }

    internal static int Option(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
    }

    /// <summary>
    /// Seconds per unit for a 512-step render at 128 px (fed to resnet18 at 224): every step costs
    /// the same, so the per-step time, scaled to 512, is the time of a render. The per-step time is
    /// the difference of two renders of N and 2N steps divided by N, which removes the fixed costs
    /// (session creation, the quality figures' 18 evaluations) that a short render would inflate.
    /// </summary>
    public static int FeatureVisualization(string[] args)
    {
        var steps = Option(args, "--steps", 6);
        var (_, vision, catalog, sessions) = ResNet();
        var table = new Table().AddColumns("layer", "batch", "s per step", "s per unit at 512 steps", "units per hour per core");
        foreach (var id in Layers)
        {
            var layer = catalog.Find(id);
            var model = GradientBuilder.Build(vision.Model, 224, 224, new GradientRequest(layer.Tensor), ShapeProbes.OnCpu(224, 224), layer.Id);
            foreach (var batch in new[] { 1, 32 })
            {
                var perStep = SecondsPerStep(model, sessions, batch, layer.Units, steps);
                var perUnit = perStep * 512 / batch;
                table.AddRow(id, F(batch, "0"), F(perStep, "F2"), F(perUnit, "F1"), F(3600 / perUnit / Environment.ProcessorCount, "F0"));
            }
        }

        AnsiConsole.MarkupLine($"[bold]Feature visualization, resnet18, 128 px rendered, 224 px fed, {Environment.ProcessorCount} cores[/] (after a warm-up render, per step = time of a {2 * steps}-step render minus a {steps}-step render, over {steps}; scaled to 512)");
        AnsiConsole.Write(table);
        return 0;
    }

    /// <summary>
    /// The host loop (transforms, parameterization and Adam in C#, the gradient graph on ONNX
    /// Runtime) against the device-resident loop (the whole step one ONNX graph, state bound in
    /// device memory) on the same device, per step, timed between the render's progress reports.
    /// On CPU this measures what the resident graph costs or saves in compute; on a GPU it also saves
    /// the per-step copies (see bench/gpu-smoke).
    /// </summary>
    public static int Loops(string[] args)
    {
        var steps = Option(args, "--steps", 10);
        var rounds = Option(args, "--rounds", 3);
        var (_, vision, catalog, _) = ResNet();
        var loops = new[] { RenderLoop.Host, RenderLoop.Device }.ToDictionary(l => l, l => new SessionFactory(new SessionSettings { Loop = l }));
        var table = new Table().AddColumns("layer", "batch", "host loop s/step", "device loop s/step", "device / host time");
        var layers = List(args, "--layers") ?? Layers;
        var batches = List(args, "--batches")?.Select(b => int.Parse(b, CultureInfo.InvariantCulture)).ToArray() ?? [1, 8];
        foreach (var id in layers)
        {
            var layer = catalog.Find(id);
            var model = GradientBuilder.Build(vision.Model, 224, 224, new GradientRequest(layer.Tensor), ShapeProbes.OnCpu(224, 224), layer.Id);
            foreach (var batch in batches)
            {
                // Rounds alternate the loops, and each cell is the median of its rounds: the same machine noise falls on both.
                var times = loops.Keys.ToDictionary(l => l, _ => new List<double>());
                for (var round = 0; round < rounds; round++)
                {
                    foreach (var (loop, sessions) in loops)
                    {
                        times[loop].Add(TimedSteps(model, sessions, batch, layer.Units, steps));
                    }
                }

                var perStep = times.ToDictionary(t => t.Key, t => t.Value.Order().ElementAt(t.Value.Count / 2));
                table.AddRow(id, F(batch, "0"), F(perStep[RenderLoop.Host], "F3"), F(perStep[RenderLoop.Device], "F3"), F(perStep[RenderLoop.Device] / perStep[RenderLoop.Host], "F2") + "×");
            }
        }

        AnsiConsole.MarkupLine($"[bold]Render loops on CPU, resnet18, 128 px rendered, 224 px fed, standard transforms, Fourier, {Environment.ProcessorCount} cores[/] (per step: a {steps}-step render's time from its first step's report to its last over {steps - 1}, so that sessions and the quality figures' evaluations are left out; median of {rounds} rounds, the loops alternating)");
        AnsiConsole.Write(table);
        return 0;
    }

    /// <summary>
    /// Seconds per optimization step of a batch of channel objectives, 128 px fed at 224: after a
    /// warm-up render, the time of a 2N-step render less that of an N-step one, over N, so that the
    /// fixed costs (sessions, the quality figures' evaluations) cancel out.
    /// </summary>
    private static double SecondsPerStep(GradientModel model, SessionFactory sessions, int batch, int units, int steps)
    {
        var objectives = Enumerable.Range(0, batch).Select(u => Objective.Channel(u % units)).ToList();
        Renderer.Render(model, sessions, objectives, new RenderOptions { Steps = 2, NetworkSize = 224 });
        var watch = Stopwatch.StartNew();
        Renderer.Render(model, sessions, objectives, new RenderOptions { Steps = steps, NetworkSize = 224 });
        var shorter = watch.Elapsed.TotalSeconds;
        watch.Restart();
        Renderer.Render(model, sessions, objectives, new RenderOptions { Steps = 2 * steps, NetworkSize = 224 });
        return (watch.Elapsed.TotalSeconds - shorter) / steps;
    }

    /// <summary>Seconds per optimization step from one render's progress reports: from the first step's to the last's, over the steps between.</summary>
    private static double TimedSteps(GradientModel model, SessionFactory sessions, int batch, int units, int steps)
    {
        var objectives = Enumerable.Range(0, batch).Select(u => Objective.Channel(u % units)).ToList();
        var watch = Stopwatch.StartNew();
        var (first, last) = (0.0, 0.0);
        Renderer.Render(model, sessions, objectives, new RenderOptions { Steps = steps, NetworkSize = 224 }, new StepClock(step =>
        {
            last = watch.Elapsed.TotalSeconds;
            first = step == 1 ? last : first;
        }));
        return (last - first) / (steps - 1);
    }

    /// <summary>Reports on the render's thread (Progress&lt;T&gt; would post to the thread pool and blur the times).</summary>
    private sealed class StepClock(Action<int> step) : IProgress<RenderProgress>
    {
        public void Report(RenderProgress value) => step(value.Step);
    }

    /// <summary>Images per second over a folder with all resnet18 layers captured, against the forward pass to the last layer alone.</summary>
    public static int DatasetExamples(string[] args)
    {
        var folder = Dataset(args);
        var count = Option(args, "--images", 200);
        var (_, vision, catalog, sessions) = ResNet();
        var files = DatasetScanner.Files(folder).Take(count).ToList();
        var last = new[] { catalog.Layers[^1] };
        DatasetScanner.Scan(vision, last, folder, files.Take(16).ToList(), 224, 16, 16, sessions);

        var alone = Stopwatch.StartNew();
        DatasetScanner.Scan(vision, last, folder, files, 224, 16, 16, sessions);
        var aloneSeconds = alone.Elapsed.TotalSeconds;
        var all = Stopwatch.StartNew();
        var scan = DatasetScanner.Scan(vision, catalog.Layers, folder, files, 224, 16, 16, sessions);
        var allSeconds = all.Elapsed.TotalSeconds;

        var table = new Table().AddColumns("run", "layers captured", "units", "images/s", "time vs forward alone");
        table.AddRow("forward pass to the last layer (with decoding and its bookkeeping)", "1", F(last[0].Units, "0"), F(files.Count / aloneSeconds, "F1"), "1.00×");
        table.AddRow("every layer captured, top-16 and bottom-16 per unit", F(catalog.Layers.Count, "0"), F(catalog.TotalUnits, "0"), F(files.Count / allSeconds, "F1"), F(allSeconds / aloneSeconds, "F2") + "×");
        AnsiConsole.MarkupLine($"[bold]Dataset examples over {files.Count} images of {Markup.Escape(folder)}[/] ({scan.Skipped.Count} skipped), batch 16, {Environment.ProcessorCount} cores");
        AnsiConsole.Write(table);
        return 0;
    }

    /// <summary>For units of a middle and the last layer: the feature visualization's activation over the top dataset example's.</summary>
    public static int Quality(string[] args)
    {
        var folder = Dataset(args);
        var steps = Option(args, "--steps", 128);
        var units = Option(args, "--units", 32);
        bool[] settings = args.Contains("--both") ? [true, false] : [!args.Contains("--no-relu-redirect")];
        var (_, vision, catalog, sessions) = ResNet();
        var files = DatasetScanner.Files(folder);
        var layers = new[] { "layer3.0.relu", "layer4.2.relu" }.Select(catalog.Find).ToList();
        var chosen = Enumerable.Range(0, units).ToList();

        // One pass over the dataset for both layers; with --both, both settings share it and are rendered side by side.
        var scan = DatasetScanner.Scan(vision, layers, folder, files, 224, 1, 16, sessions);
        var table = new Table().AddColumns("layer", "units", "steps", "relu redirect", "median ratio", "min", "max", "dead renders", "seconds");
        foreach (var (layer, l) in layers.Select((layer, l) => (layer, l)))
        {
            foreach (var redirect in settings)
            {
                var clock = System.Diagnostics.Stopwatch.StartNew();
                var renders = Lenses.FeatureVisualization.Render(vision, layer, chosen, Lenses.FeatureObjective.Channel, new RenderOptions { Steps = steps, ReluRedirect = redirect }, 32, sessions);

                // Like for like: the unit's spatial maximum on its render, fed to the model as the scan feeds images.
                var maxima = DatasetScanner.Maxima(vision, layer, [.. renders.Select(r => r.Image)], 128, 224, sessions);
                var ratios = new List<double>();
                foreach (var (render, index) in renders.Select((r, i) => (r, i)))
                {
                    var best = scan.Layers[l].Units[render.Unit].Top[0].Activation;
                    if (best > 0)
                    {
                        ratios.Add(maxima[index][render.Unit] / best);
                    }
                }

                ratios.Sort();
                var dead = renders.Count(r => r.FinalObjective <= 0);
                table.AddRow(layer.Id, F(ratios.Count, "0"), F(steps, "0"), redirect ? "on" : "off", F(ratios[ratios.Count / 2], "F2"), F(ratios[0], "F2"), F(ratios[^1], "F2"), F(dead, "0"), F(clock.Elapsed.TotalSeconds, "F0"));
                AnsiConsole.MarkupLine($"{layer.Id}, redirect {(redirect ? "on" : "off")}: done in {clock.Elapsed.TotalSeconds:F0} s");
            }
        }

        AnsiConsole.MarkupLine($"[bold]Quality: spatial maximum of the unit on its feature visualization / on its top dataset example ({files.Count} images)[/]");
        AnsiConsole.Write(table);
        return 0;
    }

    internal static string Dataset(string[] args)
    {
        var i = Array.IndexOf(args, "--dataset");
        var folder = i >= 0 && i + 1 < args.Length ? args[i + 1] : Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../../../shared/datasets/imagenet-sample-1k"));
        if (!Directory.Exists(folder))
        {
            throw new DirectoryNotFoundException($"{folder}: no dataset; give --dataset DIR (the project expects ../shared/datasets/imagenet-sample-1k).");
        }

        return folder;
    }

    private static string F(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);
}
