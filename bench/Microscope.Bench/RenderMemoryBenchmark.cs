using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using Microscope.Inference;
using Microscope.Lenses;
using Microscope.Onnx.Gradients;
using Microscope.Optvis;
using Microscope.Organisms;
using Spectre.Console;

namespace Microscope.Bench;

/// <summary>
/// The memory estimate of a feature-visualization pass (<see cref="RenderMemory"/>) against what a
/// pass really takes on CPU. Each (layer, batch) runs in a child process of its own, so that no
/// earlier render's arena or heap hides the growth: the child builds the gradient graph, resets the
/// kernel's high-water mark of its resident memory (/proc/self/clear_refs), renders a few steps and
/// reports the peak less the resident memory before the render. ONNX Runtime's CPU arena grows and
/// is reused as its CUDA arena does, so the peak stands for what a pass holds on either device.
/// </summary>
internal static class RenderMemoryBenchmark
{
    private static readonly string[] Layers = ["layer1.0.relu", "layer3.0.relu", "layer4.2.relu"];
    private static readonly int[] Batches = [1, 2, 4, 8];
    private const int Size = 128;
    private const int Network = 224;

    public static int Run(string[] args)
    {
        if (args.FirstOrDefault() == "--child")
        {
            return Child(args[1], int.Parse(args[2], CultureInfo.InvariantCulture), int.Parse(args[3], CultureInfo.InvariantCulture), Enum.Parse<RenderLoop>(args[4], ignoreCase: true));
        }

        var steps = Option(args, "--steps", 2);
        var i = Array.IndexOf(args, "--loop");
        var loop = i >= 0 && i + 1 < args.Length ? Enum.Parse<RenderLoop>(args[i + 1], ignoreCase: true) : RenderLoop.Host;
        var manifest = OrganismRegistry.Default.Resolve("resnet18");
        var catalog = LayerCatalogBuilder.Build(manifest, OrganismRegistry.Compose(manifest), new SessionFactory(new SessionSettings()));
        var table = new Table().AddColumns("layer", "batch", "estimated MB", "measured MB", "measured / estimated");
        var worst = 0.0;
        foreach (var id in Layers)
        {
            foreach (var batch in Batches)
            {
                var (estimated, measured) = Measure(catalog.Find(id).Tensor, batch, steps, loop);
                worst = Math.Max(worst, measured / (double)estimated);
                table.AddRow(id, F(batch, "0"), F(Megabytes(estimated), "0"), F(Megabytes(measured), "0"), F(measured / (double)estimated, "0.00"));
            }
        }

        AnsiConsole.MarkupLine($"[bold]Render memory, resnet18, {Size} px rendered, {Network} px fed, Fourier, {steps} steps, {loop.ToString().ToLowerInvariant()} loop, CPU, {Environment.ProcessorCount} cores[/] " +
            $"(measured: peak resident memory of a fresh process during the pass less before it; estimated: {F(Megabytes(RenderMemory.SessionBytes), "0")} MB per session + weights × {RenderMemory.WeightCopies} + batch × per image, workspace factor {RenderMemory.WorkspaceFactor})");
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"Largest measured / estimated: {F(worst, "0.00")}" + (worst > 1 ? " [red](the estimate is below a measurement: raise RenderMemory's factors)[/]" : ""));
        return worst > 1 ? 1 : 0;
    }

    /// <summary>Runs one pass in a child process; (estimated bytes, measured bytes).</summary>
    private static (long Estimated, long Measured) Measure(string tensor, int batch, int steps, RenderLoop loop)
    {
        var start = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { Assembly.GetEntryAssembly()!.Location, "render-memory", "--child", tensor, batch.ToString(CultureInfo.InvariantCulture), steps.ToString(CultureInfo.InvariantCulture), loop.ToString() })
        {
            start.ArgumentList.Add(arg);
        }

        using var child = Process.Start(start)!;
        var output = child.StandardOutput.ReadToEnd();
        var error = child.StandardError.ReadToEnd();
        child.WaitForExit();
        var line = output.Split('\n').LastOrDefault(l => l.StartsWith("pass ", StringComparison.Ordinal));
        if (child.ExitCode != 0 || line is null)
        {
            throw new InvalidOperationException($"the measurement of {tensor} at batch {batch} failed (exit {child.ExitCode}): {error}{output}");
        }

        var parts = line.Split(' ');
        return (long.Parse(parts[1], CultureInfo.InvariantCulture), long.Parse(parts[2], CultureInfo.InvariantCulture));
    }

    /// <summary>In the child: one pass of <paramref name="batch"/> units; prints "pass {estimated} {measured}".</summary>
    private static int Child(string tensor, int batch, int steps, RenderLoop loop)
    {
        var manifest = OrganismRegistry.Default.Resolve("resnet18");
        var vision = OrganismRegistry.Compose(manifest);
        var sessions = new SessionFactory(new SessionSettings { Loop = loop });
        var model = GradientBuilder.Build(vision.Model, Network, Network, new GradientRequest(tensor), ShapeProbes.OnCpu(Network, Network), tensor);
        var options = new RenderOptions { Size = Size, NetworkSize = Network, Steps = steps };
        var estimated = RenderMemory.Of(model, options).PassBytes(batch);
        var objectives = Enumerable.Range(0, batch).Select(Objective.Channel).ToList();

        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        File.WriteAllText("/proc/self/clear_refs", "5");
        var before = Status("VmRSS:");
        Renderer.Render(model, sessions, objectives, options);
        var measured = Status("VmHWM:") - before;
        Console.WriteLine($"pass {estimated} {measured}");
        return 0;
    }

    /// <summary>A kB line of /proc/self/status, in bytes.</summary>
    private static long Status(string key) =>
        1024 * long.Parse(File.ReadLines("/proc/self/status").Single(l => l.StartsWith(key, StringComparison.Ordinal))[key.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);

    private static int Option(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
    }

    private static double Megabytes(long bytes) => bytes / (double)(1L << 20);

    private static string F(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);
}
