namespace Microscope.Onnx.Tests.Gradients;

/// <summary>ReduceSum and ReduceMean: axes as an input or an attribute, kept or dropped, and over every axis.</summary>
public sealed class ReductionGradientTests
{
    // Channels and columns (one of them named negatively): [N,H] or [N,1,H,1].
    [Theory]
    [InlineData(0L)]
    [InlineData(1L)]
    public void ReduceSum_axes_input(long keepDims) =>
        GradientAssert.Check((m, x) => m.Op("ReduceSum", [m.Op("Mul", [x, x]), m.Int64Constant([-1, 1])], ("keepdims", keepDims)));

    [Fact]
    public void ReduceSum_opset_11_axes_attribute() =>
        GradientAssert.Check((m, x) => m.Op("ReduceSum", m.Op("Mul", [x, x]), ("axes", new long[] { 1 }), ("keepdims", 0L)), opset: 11);

    [Fact]
    public void ReduceMean_axes_attribute_without_keepdims() =>
        GradientAssert.Check((m, x) => m.Op("ReduceMean", m.Op("Mul", [x, x]), ("axes", new long[] { 3, 2 }), ("keepdims", 0L)));

    // With no axes every axis is reduced, the batch's too: the image less the mean of the whole batch.
    [Fact]
    public void ReduceMean_over_all_axes() => GradientAssert.Check((m, x) =>
    {
        var squares = m.Op("Mul", [x, x]);
        return m.Op("Sub", [squares, m.Op("ReduceMean", squares)]);
    });

    // Values spread over [−1, 1]: no ties. Over the channels with keepdims, over rows and columns without.
    [Theory]
    [InlineData("ReduceMax", 1L)]
    [InlineData("ReduceMax", 0L)]
    [InlineData("ReduceMin", 1L)]
    [InlineData("ReduceMin", 0L)]
    [InlineData("ReduceL2", 1L)]
    [InlineData("ReduceL2", 0L)]
    [InlineData("ReduceL1", 0L)]
    [InlineData("ReduceSumSquare", 0L)]
    [InlineData("ReduceLogSumExp", 1L)]
    public void Reduce_axes_attribute(string op, long keepDims) => GradientAssert.Check((m, x) =>
        m.Op(op, m.Spread(x, 2), ("axes", keepDims == 1 ? new long[] { 1 } : [-1, 2]), ("keepdims", keepDims)));

    // Opset 18 moved every reduction's axes to an input.
    [Theory]
    [InlineData("ReduceMax")]
    [InlineData("ReduceL2")]
    [InlineData("ReduceMean")]
    public void Reduce_axes_input_opset_18(string op) => GradientAssert.Check((m, x) =>
        m.Op(op, [m.Spread(x, 2), m.Int64Constant([2, 3])], ("keepdims", 0L)), opset: 18);

    // ReduceMax over a tensor and its copy (concatenated): every maximum is tied, and the two halves make the identity.
    [Fact]
    public void ReduceMax_over_tied_copies() => GradientAssert.Check((m, x) =>
    {
        var a = m.Op("Unsqueeze", [m.Spread(x, 2), m.Int64Constant([1])]);
        return m.Op("ReduceMax", m.Concat(1, a, a), ("axes", new long[] { 1 }), ("keepdims", 0L));
    });
}
