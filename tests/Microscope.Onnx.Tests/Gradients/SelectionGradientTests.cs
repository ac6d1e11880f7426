using Microscope.Inference;
using Microscope.Onnx.Gradients;
using Microscope.Testing;
using DataType = Microscope.Onnx.Proto.TensorProto.Types.DataType;

namespace Microscope.Onnx.Tests.Gradients;

/// <summary>Where, Max and Min, the extremum reductions' ties, and the boolean plumbing around masks.</summary>
public sealed class SelectionGradientTests
{
    private const int Size = 6;

    // Both branches active, the second broadcast over the channels.
    [Fact]
    public void Where_with_two_active_branches_one_broadcast() => GradientAssert.Check((m, x) =>
    {
        var a = m.Spread(x, 2);
        var channelMean = m.Op("ReduceMean", m.Op("Mul", [a, a]), ("axes", new long[] { 1 }));
        return m.Op("Where", [m.Op("Greater", [a, m.Scalar(0.1)]), m.Op("Tanh", a), channelMean]);
    });

    // An attention-style mask: a constant where the condition holds, the active tensor elsewhere.
    [Fact]
    public void Where_with_a_constant_branch() => GradientAssert.Check((m, x) =>
    {
        var a = m.Spread(x, 2);
        return m.Op("Where", [m.Op("Less", [a, m.Scalar(-0.4)]), m.Scalar(-100), a]);
    });

    [Theory]
    [InlineData("Max")]
    [InlineData("Min")]
    public void Of_three_inputs_one_broadcast_one_constant(string op) => GradientAssert.Check((m, x) =>
    {
        var a = m.Spread(x, 2);
        var rowMean = m.Op("ReduceMean", m.Op("Tanh", a), ("axes", new long[] { 3 }));
        return m.Op(op, [a, rowMean, m.Constant([3, 1, 1], [0.2, -0.1, 0.05])]);
    });

    [Theory]
    [InlineData("Max")]
    [InlineData("Min")]
    public void Of_one_input_is_the_identity(string op) => GradientAssert.Check((m, x) => m.Op(op, [m.Spread(x, 2)]));

    // Max(a, a) ties everywhere; its two halves add up to the identity's gradient.
    [Fact]
    public void Max_of_a_tensor_and_itself() => GradientAssert.Check((m, x) =>
    {
        var a = m.Spread(x, 2);
        return m.Op("Max", [a, a]);
    });

    /// <summary>The tie convention: a maximum attained by two elements hands each half the gradient.</summary>
    [Fact]
    public void Tied_elements_share_the_gradient_equally()
    {
        // Max(x, 0.5) with every pixel 0.5: x gets half; ReduceMax over channels where channels 0 and 1 tie
        // above channel 2: each gets half, channel 2 nothing.
        var max = GradientOf((m, x) => m.Op("Max", [x, m.Scalar(0.5)]), _ => 0.5);
        Assert.All(max, g => Assert.Equal(0.5, g, 6));

        var reduced = GradientOf((m, x) => m.Op("ReduceMax", x, ("axes", new long[] { 1 })), i => i < 2 * Size * Size ? 0.7 : 0.2);
        Assert.All(reduced[..(2 * Size * Size)], g => Assert.Equal(0.5, g, 6));
        Assert.All(reduced[(2 * Size * Size)..], g => Assert.Equal(0, g));

        var global = GradientOf((m, x) => m.Op("GlobalMaxPool", x), i => i % (Size * Size) < 3 ? 0.9 : 0.1);
        Assert.All(global, (g, i) => Assert.Equal(i % (Size * Size) < 3 ? 1.0 / 3 : 0, g, 6));
    }

    // Comparisons, Not, And, Or, casts to integers and to bool, and back to float: no gradient flows
    // through any of them, none needs a rule, and the data path around them is still differentiated.
    [Fact]
    public void Boolean_plumbing_around_a_mask_needs_no_rule() => GradientAssert.Check((m, x) =>
    {
        var a = m.Spread(x, 2);
        var above = m.Op("Greater", [a, m.Scalar(0.1)]);
        var below = m.Op("LessOrEqual", [a, m.Scalar(-0.3)]);
        var zeroInt = m.Op("Equal", [m.Op("Cast", a, ("to", (long)DataType.Int64)), m.Int64Constant([0])]);
        var mask = m.Op("And", [m.Op("Or", [above, below]), m.Op("Not", zeroInt)]);
        var asBool = m.Op("Cast", m.Op("Cast", a, ("to", (long)DataType.Bool)), ("to", (long)m.ElementType));
        var weights = m.Op("Cast", mask, ("to", (long)m.ElementType));
        return m.Op("Add", [m.Op("Mul", [a, m.Op("Add", [weights, asBool])]), m.Op("Where", [mask, m.Op("Tanh", a), m.Scalar(-1)])]);
    });

    /// <summary>The gradient of the sum of the layer (weights 1) on one image whose pixel i is <paramref name="pixel"/>(i).</summary>
    private static double[] GradientOf(Func<TinyModel, string, string> body, Func<int, double> pixel)
    {
        var m = new TinyModel(17, 1, DataType.Float);
        var image = m.Input(VisionGraph.ImageInput, -1, 3, -1, -1);
        var layer = body(m, image);
        m.Output(layer);
        var built = GradientBuilder.Build(m.Build(), Size, Size, new GradientRequest(layer), ShapeProbes.OnCpu(Size, Size), "ties");
        using var session = new GradientSession(built, new SessionFactory(new SessionSettings { IntraOpThreads = 1 }));
        var size = (int)built.LayerShape.Aggregate(1L, (a, b) => a * b);
        var pixels = Enumerable.Range(0, 3 * Size * Size).Select(pixel).ToArray();
        return session.Run(pixels, 1, Size, Size, new ObjectiveParameters(Enumerable.Repeat(1.0, size).ToArray())).Gradient;
    }
}
