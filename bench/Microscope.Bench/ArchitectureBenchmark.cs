using System.Globalization;
using Microscope.Inference;
using Microscope.Onnx;
using Microscope.Onnx.Gradients;
using Microscope.Onnx.Proto;
using Microscope.Organisms;
using Microscope.Testing;
using Spectre.Console;

namespace Microscope.Bench;

/// <summary>
/// bench/run architectures: one model per family — a CNN in N×C×H×W (resnet18), a channels-last
/// CNN block (ConvNeXt-like), windowed attention (Swin-like) and global attention with a class
/// token (ViT-like), the last three built in code (no vision transformer is packaged on NuGet or
/// npm) — with the layers the catalog found and hid, the worst gradient-check error over every
/// layer, and one feature-visualization step (forward + gradient) against the forward pass alone
/// on the deepest spatial layer, timed side by side (alternating runs, medians).
/// </summary>
internal static class ArchitectureBenchmark
{
    public static int Run(string[] args)
    {
        var sessions = new SessionFactory(new SessionSettings());
        if (Console.IsOutputRedirected)
        {
            // A file or a pipe has no width: keep the table's rows whole.
            AnsiConsole.Profile.Width = 240;
        }

        AnsiConsole.MarkupLine($"[bold]Architectures by family[/] (CPU, {Environment.ProcessorCount} cores; gradient check: 3 gradient-aligned directions per layer, channel objective, 2 images; step: batch 4, median of 15 alternating runs)");
        var table = new Table().AddColumns("family", "model", "size", "layers found", "hidden", "why hidden", "gradcheck worst", "step ms", "forward ms", "step / forward");
        var resnet = OrganismRegistry.Default.Resolve("resnet18");
        var families = new (string Family, string Model, Func<(VisionGraph, LayerCatalog)> Build, int Size)[]
        {
            ("CNN (N×C×H×W)", "resnet18", () => Catalog(resnet, OrganismRegistry.Compose(resnet), sessions), 224),
            ("CNN (channels-last)", "ConvNeXt-like MLP block, in code", () => Tiny(TinyTransformers.ChannelsLastMlp(), "convnext-like", sessions), TinyTransformers.Size),
            ("windowed-attention transformer", "Swin-like block, in code", () => Tiny(TinyTransformers.Swin(), "swin-like", sessions), TinyTransformers.Size),
            ("global-attention transformer", "ViT-like, 2 blocks, in code", () => Tiny(TinyTransformers.Vit(), "vit-like", sessions), TinyTransformers.Size),
        };

        foreach (var (family, name, build, requested) in families)
        {
            var (vision, catalog) = build();
            var worst = 0.0;
            var random = new Random(3);
            foreach (var layer in catalog.Layers)
            {
                var size = layer.NetworkSize(vision, requested);
                var image = Enumerable.Range(0, 2 * 3 * size * size).Select(_ => random.NextDouble()).ToArray();
                var model = GradientBuilder.Build(vision.Model, size, size, new GradientRequest(layer.Tensor), ShapeProbes.OnCpu(size, size), layer.Id);
                using var session = new GradientSession(model, sessions);
                var parameters = Objective.Parameters([Objective.Channel(0), Objective.Channel(layer.Units - 1)], model.LayerShape, ObjectiveTerms.Linear);
                var check = GradientCheck.Run(session, image, 2, size, size, parameters, directions: 3);
                if (!check.Vacuous)
                {
                    worst = Math.Max(worst, check.MaxRelativeError);
                }
            }

            var deepest = catalog.Layers.Last(l => l.Shape.Length == 3 && l.Shape[1] > 1);
            var stepSize = deepest.NetworkSize(vision, requested);
            using var pair = GradientBenchmark.Pair.Create(vision, deepest, stepSize, 4, new SessionSettings());
            var (forward, step) = Timing.MedianMilliseconds(pair.Forward.Run, pair.Gradient.Run, 5, 15);
            var hidden = catalog.Hidden.Sum(h => h.Count);
            table.AddRow(family, name, $"{stepSize} px", catalog.Layers.Count.ToString(CultureInfo.InvariantCulture), hidden.ToString(CultureInfo.InvariantCulture),
                Markup.Escape(hidden == 0 ? "" : string.Join("; ", catalog.Hidden.Select(h => $"{h.Count}: {h.Reason}"))),
                worst.ToString("E1", CultureInfo.InvariantCulture), step.ToString("F2", CultureInfo.InvariantCulture), forward.ToString("F2", CultureInfo.InvariantCulture),
                (step / forward).ToString("F2", CultureInfo.InvariantCulture) + "×");
        }

        AnsiConsole.Write(table);
        return 0;
    }

    private static (VisionGraph, LayerCatalog) Catalog(ModelManifest manifest, VisionGraph vision, SessionFactory sessions) =>
        (vision, LayerCatalogBuilder.Build(manifest, vision, sessions));

    private static (VisionGraph, LayerCatalog) Tiny(ModelProto model, string id, SessionFactory sessions)
    {
        var manifest = new ModelManifest { Id = id, Model = id + ".onnx", Input = new InputSpec { Size = [TinyTransformers.Size, TinyTransformers.Size] } };
        return Catalog(manifest, VisionGraph.Compose(model, manifest.Input, null, id), sessions);
    }
}
