using Microscope.Inference;
using Microscope.Onnx.Gradients;
using Microscope.Testing;

namespace Microscope.Onnx.Tests.Gradients;

public sealed class GradientBuilderTests
{
    private const int Size = 16;

    private static VisionGraph SmallVision() => VisionGraph.Compose(TinyModel.SmallCnn(size: Size), new InputSpec { Size = [Size, Size] }, null, "small");

    private static GradientModel Build(VisionGraph vision, string tensor, ObjectiveTerms terms = ObjectiveTerms.Linear) =>
        GradientBuilder.Build(vision.Model, Size, Size, new GradientRequest(tensor, terms), ShapeProbes.OnCpu(Size, Size), tensor);

    [Fact]
    public void The_forward_pass_is_truncated_to_what_the_layer_needs()
    {
        var vision = SmallVision();
        var target = vision.Model.Graph.Node.First(n => n.OpType == "MaxPool").Output[0];

        var built = Build(vision, target);

        var needed = vision.Graph.Ancestors([target]).Select(n => n.Name).ToHashSet();
        Assert.Equal(needed.Order(), built.ForwardNodes.Order());
        var modelNodes = vision.Model.Graph.Node.Select(n => n.Name).ToHashSet();
        var keptFromModel = built.Model.Graph.Node.Select(n => n.Name).Where(modelNodes.Contains).ToHashSet();
        Assert.Equal(needed, keptFromModel);
        Assert.DoesNotContain(built.Model.Graph.Node, n => n.OpType is "Gemm" or "Concat" or "GlobalAveragePool");
    }

    [Fact]
    public void A_batch_of_units_gives_the_gradients_of_each_unit_alone()
    {
        var vision = SmallVision();
        var target = vision.Model.Graph.Node.First(n => n.OpType == "Add").Output[0];
        var built = Build(vision, target);
        using var session = new GradientSession(built, new SessionFactory(new SessionSettings()));
        var random = new Random(5);
        var pixels = 3 * Size * Size;
        var images = Enumerable.Range(0, 3 * pixels).Select(_ => random.NextDouble()).ToArray();
        var objectives = new[] { Objective.Channel(0), Objective.Neuron(3), Objective.Channel(2) - Objective.Channel(1) };

        var together = session.Run(images, 3, Size, Size, Objective.Parameters(objectives, built.LayerShape, ObjectiveTerms.Linear));

        for (var n = 0; n < 3; n++)
        {
            var alone = session.Run(images[(n * pixels)..((n + 1) * pixels)], 1, Size, Size, Objective.Parameters([objectives[n]], built.LayerShape, ObjectiveTerms.Linear));
            Assert.Equal(alone.Objective[0], together.Objective[n], 5);
            var batched = together.Gradient[(n * pixels)..((n + 1) * pixels)];
            Assert.True(alone.Gradient.Any(g => g != 0), $"unit of image {n} has a zero gradient");
            for (var i = 0; i < pixels; i++)
            {
                Assert.Equal(alone.Gradient[i], batched[i], 5);
            }
        }
    }

    [Fact]
    public void The_graph_runs_at_other_image_sizes_and_batches()
    {
        var vision = SmallVision();
        var target = vision.Model.Graph.Node.First(n => n.OpType == "MaxPool").Output[0];
        var built = Build(vision, target, ObjectiveTerms.L2);
        using var session = new GradientSession(built, new SessionFactory(new SessionSettings()));

        foreach (var (batch, height, width) in new[] { (1, 16, 16), (4, 24, 20), (2, 33, 17) })
        {
            var result = session.Run(new double[batch * 3 * height * width].Select((_, i) => (i % 7) / 7.0).ToArray(), batch, height, width,
                new ObjectiveParameters(null, Enumerable.Repeat(1.0, batch).ToArray()));
            Assert.Equal(batch, result.Objective.Length);
            Assert.Equal(batch * 3 * height * width, result.Gradient.Length);
            Assert.Contains(result.Gradient, g => g != 0);
        }
    }

    [Fact]
    public void An_op_without_a_rule_is_named_with_its_node_and_layer()
    {
        var m = new TinyModel();
        var x = m.Input(VisionGraph.ImageInput, -1, 3, -1, -1);
        var rounded = m.Op("Relu", m.Op("CumSum", [x, m.Int64Constant([1])]));
        m.Output(rounded);

        var error = Assert.Throws<ModelFormatException>(() =>
            GradientBuilder.Build(m.Build(), 8, 8, new GradientRequest(rounded), ShapeProbes.OnCpu(8, 8), "my-layer"));

        Assert.Contains("CumSum", error.Message);
        Assert.Contains(m.Build().Graph.Node.Single(n => n.OpType == "CumSum").Name, error.Message);
        Assert.Contains("my-layer", error.Message);
        Assert.Contains("Supported ops:", error.Message);
        Assert.Contains("Conv", error.Message);
    }

    [Fact]
    public void An_unknown_layer_tensor_is_an_error()
    {
        var error = Assert.Throws<UnknownLayerException>(() => Build(SmallVision(), "no-such-tensor"));
        Assert.Contains("no-such-tensor", error.Message);
    }

    [Fact]
    public void Only_standard_ops_of_one_opset_are_emitted()
    {
        var built = Build(SmallVision(), TinyModel.SmallCnn().Graph.Output[0].Name, ObjectiveTerms.All);

        Assert.All(built.Model.Graph.Node, n => Assert.True(string.IsNullOrEmpty(n.Domain), $"{n.OpType} is in domain {n.Domain}"));
        Assert.Equal(OpsetUpgrader.TargetOpset, built.Opset);
        Assert.Contains(built.Model.Graph.Output, o => o.Name == ObjectiveNames.Objective);
        Assert.Contains(built.Model.Graph.Output, o => o.Name == ObjectiveNames.ImageGradient);
        Assert.Equal([VisionGraph.ImageInput, ObjectiveNames.Weights, ObjectiveNames.L2Weight, ObjectiveNames.DiversityWeight], built.Model.Graph.Input.Select(i => i.Name));
    }

    // A relative-position table looked up by a constant index, behind an op that has no rule (CumSum):
    // none of it depends on the image, so nothing of it is differentiated.
    [Fact]
    public void A_constant_lookup_is_not_differentiated()
    {
        var m = new TinyModel(17);
        var x = m.Input(VisionGraph.ImageInput, -1, 3, -1, -1);
        var table = m.Op("CumSum", [m.Random([9, 3]), m.Int64Constant([0])]);
        var bias = m.Op("Transpose", m.Op("Gather", [table, m.Int64Constant([4, 0, 8, 3])], ("axis", 0L)), ("perm", new long[] { 1, 0 }));
        var layer = m.Op("Add", [m.Op("Reshape", [x, m.Int64Constant([0, 3, 4, -1])]), m.Op("Unsqueeze", [bias, m.Int64Constant([2])])]);
        m.Output(layer);

        var built = GradientBuilder.Build(m.Build(), 4, 4, new GradientRequest(layer), ShapeProbes.OnCpu(4, 4), "lookup");

        Assert.DoesNotContain(built.Model.Graph.Node, n => n.OpType == "ScatterElements");
    }

    // An op without a rule (CumSum) whose output only gives a shape is off the differentiable path: the
    // build does not ask for its rule, and the gradient is right.
    [Fact]
    public void An_op_read_only_for_its_shape_needs_no_rule() => GradientAssert.Check((m, x) =>
        m.Op("Reshape", [m.Op("Tanh", x), m.Op("Shape", m.Op("CumSum", [x, m.Int64Constant([3])]))]));
}
