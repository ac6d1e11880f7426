using System.Globalization;
using Microscope.Inference;
using Microscope.Onnx;
using Microscope.Onnx.Gradients;
using Microscope.Organisms;
using Microsoft.ML.OnnxRuntime;
using Spectre.Console;

namespace Microscope.Bench;

/// <summary>
/// bench/run gradient: for resnet18, the truncated forward pass alone against forward + gradient
/// (the built graph), at 224 and 128 pixels, batch 1 and 8, for an early, a middle and the last
/// layer; then what each ONNX Runtime setting buys, on one case. All timings are medians of
/// repeated runs in one process, so the ratios compare like with like.
/// </summary>
internal static class GradientBenchmark
{
    private static readonly string[] Layers = ["layer1.0.relu", "layer3.0.relu", "layer4.2.relu"];

    public static int Run(string[] args)
    {
        var quick = args.Contains("--quick");
        var repeats = quick ? 5 : 15;
        const int warmup = 5;
        var manifest = OrganismRegistry.Default.Resolve("resnet18");
        var vision = OrganismRegistry.Compose(manifest);
        var catalog = LayerCatalogBuilder.Build(manifest, vision, new SessionFactory(new SessionSettings()));
        var best = new SessionSettings { OptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, IntraOpThreads = Environment.ProcessorCount };

        AnsiConsole.MarkupLine($"[bold]resnet18: forward alone vs forward + gradient[/] (CPU, {Environment.ProcessorCount} cores, graph optimizations on, IO binding; forward and gradient runs alternate, median of {repeats} each)");
        var table = new Table().AddColumns("size", "batch", "layer", "forward ms", "forward+gradient ms", "ratio");
        foreach (var size in new[] { 224, 128 })
        {
            foreach (var batch in new[] { 1, 8 })
            {
                foreach (var id in Layers)
                {
                    var layer = catalog.Find(id);
                    using var pair = Pair.Create(vision, layer, size, batch, best);
                    var (forward, gradient) = Timing.MedianMilliseconds(pair.Forward.Run, pair.Gradient.Run, warmup, repeats);
                    table.AddRow(Text(size), Text(batch), id, Ms(forward), Ms(gradient), Ratio(gradient / forward));
                }
            }
        }

        AnsiConsole.Write(table);

        var middle = catalog.Find(Layers[1]);
        AnsiConsole.MarkupLine($"[bold]What each setting buys[/] (224 px, batch 1, {Layers[1]}; each row adds one setting to the row above)");
        var settings = new (string Name, SessionSettings Settings, bool Bound)[]
        {
            ("no graph optimization, 1 thread, new tensors per run", new SessionSettings { OptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL, IntraOpThreads = 1 }, false),
            ("+ graph optimization (ORT_ENABLE_ALL)", new SessionSettings { OptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, IntraOpThreads = 1 }, false),
            ($"+ intra-op threads = cores ({Environment.ProcessorCount})", best, false),
            ("+ IO binding, buffers reused between steps", best, true),
        };
        var gains = new Table().AddColumns("setting", "forward ms", "forward+gradient ms", "ratio", "forward+gradient speed-up vs first row");
        double? first = null;
        foreach (var (name, setting, bound) in settings)
        {
            using var pair = Pair.Create(vision, middle, 224, 1, setting);
            var (forward, gradient) = bound
                ? Timing.MedianMilliseconds(pair.Forward.Run, pair.Gradient.Run, warmup, repeats)
                : Timing.MedianMilliseconds(pair.ForwardUnbound, pair.GradientUnbound, warmup, repeats);
            first ??= gradient;
            gains.AddRow(name, Ms(forward), Ms(gradient), Ratio(gradient / forward), Ratio(first.Value / gradient));
        }

        AnsiConsole.Write(gains);
        return 0;
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Ms(double value) => value.ToString("F1", CultureInfo.InvariantCulture);

    private static string Ratio(double value) => value.ToString("F2", CultureInfo.InvariantCulture) + "×";

    /// <summary>The truncated forward model and the gradient model of one layer, ready to run.</summary>
    internal sealed class Pair : IDisposable
    {
        private readonly List<IDisposable> owned = [];
        private Action forwardUnbound = () => { };
        private Action gradientUnbound = () => { };

        public BoundRun Forward { get; private set; } = null!;

        public BoundRun Gradient { get; private set; } = null!;

        public void ForwardUnbound() => forwardUnbound();

        public void GradientUnbound() => gradientUnbound();

        public static Pair Create(VisionGraph vision, Layer layer, int size, int batch, SessionSettings settings)
        {
            var pair = new Pair();
            var sessions = new SessionFactory(settings);
            var gradientModel = GradientBuilder.Build(vision.Model, size, size, new GradientRequest(layer.Tensor), ShapeProbes.OnCpu(size, size), layer.Id);
            var layerShape = gradientModel.LayerShape;
            long[] image = [batch, 3, size, size];
            long[] activations = [batch, .. layerShape];

            var forward = sessions.Create(OnnxModelFile.ToBytes(vision.Graph.Truncate(layer.Tensor)), layer.Id);
            var gradient = sessions.Create(OnnxModelFile.ToBytes(gradientModel.Model), layer.Id);
            pair.owned.Add(forward);
            pair.owned.Add(gradient);
            pair.Forward = new BoundRun(forward.Session, new Dictionary<string, long[]> { [VisionGraph.ImageInput] = image }, new Dictionary<string, long[]> { [layer.Tensor] = activations });
            pair.Gradient = new BoundRun(
                gradient.Session,
                new Dictionary<string, long[]> { [VisionGraph.ImageInput] = image, [ObjectiveNames.Weights] = activations },
                new Dictionary<string, long[]> { [ObjectiveNames.Objective] = [batch], [ObjectiveNames.ImageGradient] = image });
            pair.owned.Add(pair.Forward);
            pair.owned.Add(pair.Gradient);

            var random = new Random(1);
            foreach (var run in new[] { pair.Forward, pair.Gradient })
            {
                var pixels = run.Input(VisionGraph.ImageInput);
                for (var i = 0; i < pixels.Length; i++)
                {
                    pixels[i] = (float)random.NextDouble();
                }
            }

            var weights = Objective.Parameters(Enumerable.Range(0, batch).Select(Objective.Channel).ToList(), layerShape, ObjectiveTerms.Linear).Weights!;
            var weightSpan = pair.Gradient.Input(ObjectiveNames.Weights);
            for (var i = 0; i < weights.Length; i++)
            {
                weightSpan[i] = (float)weights[i];
            }

            // The plain path: fresh tensors for every run, as a naive caller would do.
            var imageData = pair.Forward.Input(VisionGraph.ImageInput).ToArray();
            var weightData = weights.Select(w => (float)w).ToArray();
            pair.forwardUnbound = () =>
            {
                using var value = OrtValue.CreateTensorValueFromMemory(imageData.ToArray(), image);
                using var results = forward.Session.Run(new RunOptions(), [VisionGraph.ImageInput], [value], [layer.Tensor]);
            };
            pair.gradientUnbound = () =>
            {
                using var value = OrtValue.CreateTensorValueFromMemory(imageData.ToArray(), image);
                using var w = OrtValue.CreateTensorValueFromMemory(weightData.ToArray(), activations);
                using var results = gradient.Session.Run(new RunOptions(), [VisionGraph.ImageInput, ObjectiveNames.Weights], [value, w], [ObjectiveNames.Objective, ObjectiveNames.ImageGradient]);
            };
            return pair;
        }

        public void Dispose()
        {
            for (var i = owned.Count - 1; i >= 0; i--)
            {
                owned[i].Dispose();
            }
        }
    }
}
