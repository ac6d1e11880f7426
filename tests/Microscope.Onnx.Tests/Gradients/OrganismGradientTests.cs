using Microscope.Inference;
using Microscope.Onnx.Gradients;
using Microscope.Organisms;

namespace Microscope.Onnx.Tests.Gradients;

/// <summary>
/// Whole-model checks on the real organisms, in float32 as they run in production. The tolerance
/// (1e-2) is wider than for single ops: these paths cross thousands of ReLU and max-pool kinks, and
/// a finite-difference step that crosses one adds error (see <see cref="GradientCheck"/>).
/// </summary>
public sealed class OrganismGradientTests
{
    private const double Tolerance = 1e-2;

    private static readonly Lazy<(VisionGraph Vision, LayerCatalog Catalog)> ResNet = new(() => Load("resnet18"));
    private static readonly Lazy<(VisionGraph Vision, LayerCatalog Catalog)> TextDetector = new(() => Load("ppocr-det"));

    private static (VisionGraph, LayerCatalog) Load(string id)
    {
        var manifest = OrganismRegistry.Default.Resolve(id);
        var vision = OrganismRegistry.Compose(manifest);
        return (vision, LayerCatalogBuilder.Build(manifest, vision, new SessionFactory(new SessionSettings())));
    }

    public static TheoryData<string, string> ResNetCases => new()
    {
        { "conv1", "channel" },
        { "layer1.0.relu1", "neuron" },
        { "layer2.0.relu", "channel" },
        { "layer2.1.bn2", "direction" },
        { "layer3.1.relu", "deepdream" },
        { "layer3.0.downsample", "negative" },
        { "layer4.1.relu", "caricature" },
        { "layer4.2.relu", "diversity" },
        { "avgpool", "sum" },
    };

    [Theory]
    [MemberData(nameof(ResNetCases))]
    public void Resnet18_layers_and_objectives(string layer, string objective) => Check(ResNet.Value, layer, objective, size: 224);

    [Theory]
    [InlineData("p2o.Mul.2", "channel")]
    [InlineData("p2o.Add.246", "neuron")]
    [InlineData("p2o.Resize.0", "channel")]
    [InlineData("p2o.Concat.0", "deepdream")]
    [InlineData("p2o.Relu.11", "diversity")]
    public void Ppocr_det_layers_and_objectives(string layer, string objective) => Check(TextDetector.Value, layer, objective, size: 64);

    private static void Check((VisionGraph Vision, LayerCatalog Catalog) organism, string layerId, string objectiveKind, int size)
    {
        var layer = organism.Catalog.Find(layerId);
        var batch = objectiveKind == "diversity" ? 2 : 1;
        var random = new Random(7);
        var image = Enumerable.Range(0, batch * 3 * size * size).Select(_ => 0.2 + (0.6 * random.NextDouble())).ToArray();
        var sessions = new SessionFactory(new SessionSettings());

        // Pick the unit most active on this image, so that the check is never vacuous.
        var probe = GradientBuilder.Build(organism.Vision.Model, size, size, new GradientRequest(layer.Tensor, ObjectiveTerms.L2, IncludeActivations: true), ShapeProbes.OnCpu(size, size), layer.Id);
        long[] shape;
        double[] activations;
        using (var session = new GradientSession(probe, sessions))
        {
            var run = session.Run(image, batch, size, size, new ObjectiveParameters(null, Enumerable.Repeat(1.0, batch).ToArray()));
            (shape, activations) = (run.LayerShape, run.Activations!);
        }

        var perImage = (int)shape.Aggregate(1L, (a, b) => a * b);
        var positions = perImage / (int)shape[0];
        var unit = Enumerable.Range(0, (int)shape[0]).MaxBy(c => activations.Skip(c * positions).Take(positions).Sum());
        var second = Enumerable.Range(0, (int)shape[0]).Where(c => c != unit).MaxBy(c => activations.Skip(c * positions).Take(positions).Sum());
        var direction = Enumerable.Range(0, (int)shape[0]).Select(c => c == unit ? 1.0 : c == second ? 0.5 : 0).ToArray();
        var objective = objectiveKind switch
        {
            "channel" => Objective.Channel(unit),
            "neuron" => Objective.Neuron(unit, x: positions > 1 ? (int)shape[2] / 3 : null, y: positions > 1 ? (int)shape[1] / 3 : null) + Objective.Channel(unit),
            "direction" => Objective.Direction(direction),
            "deepdream" => Objective.DeepDream(),
            "negative" => -Objective.Channel(unit),
            "caricature" => Objective.Caricature(activations[..perImage]),
            "diversity" => Objective.Channel(unit) + Objective.Diversity(0.5),
            "sum" => Objective.Channel(unit) + (0.5 * Objective.Channel(second)) + Objective.DeepDream(),
            _ => throw new ArgumentException(objectiveKind),
        };

        var model = GradientBuilder.Build(organism.Vision.Model, size, size, new GradientRequest(layer.Tensor, objective.Terms), ShapeProbes.OnCpu(size, size), layer.Id);
        using var gradients = new GradientSession(model, sessions);
        var parameters = Objective.Parameters(Enumerable.Repeat(objective, batch).ToList(), shape, objective.Terms);
        var result = GradientCheck.Run(gradients, image, batch, size, size, parameters, directions: 2, seed: 11);

        Assert.False(result.Vacuous, $"unit {unit} of {layerId} gave a zero gradient");
        Assert.True(result.MaxRelativeError <= Tolerance,
            $"{layerId} {objective.Description}: max relative error {result.MaxRelativeError:E2}; " +
            string.Join("; ", result.Directions.Select(d => $"{d.Analytic:G6} vs {d.Numeric:G6} (step {d.Epsilon})")));
    }
}
