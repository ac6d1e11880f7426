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
}
