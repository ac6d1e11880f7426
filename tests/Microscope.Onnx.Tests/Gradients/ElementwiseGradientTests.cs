using Microscope.Testing;

namespace Microscope.Onnx.Tests.Gradients;

/// <summary>The broadcasting binary ops, Sum, Pow and Expand.</summary>
public sealed class ElementwiseGradientTests
{
    private const int Size = 6;

    public static TheoryData<string, string, bool> BinaryCases()
    {
        var cases = new TheoryData<string, string, bool>();
        foreach (var op in new[] { "Add", "Sub", "Mul", "Div" })
        {
            foreach (var broadcast in new[] { "channel", "row", "scalar", "active" })
            {
                cases.Add(op, broadcast, false);
                cases.Add(op, broadcast, true);
            }
        }

        return cases;
    }

    /// <summary>
    /// op(active, constant), or op(constant, active) when <paramref name="constantFirst"/>. The constant is
    /// [3,1,1] (channel), [1,3,1,W] (row) or a scalar; for "active" the active operand is the one broadcast:
    /// [N,3,1,W] against a [1,1,H,1] constant. Operands stay in [0.5, 1.5], away from a zero divisor.
    /// </summary>
    [Theory]
    [MemberData(nameof(BinaryCases))]
    public void Binary_op_against_a_broadcast_constant(string op, string broadcast, bool constantFirst) =>
        GradientAssert.Check((m, x) =>
        {
            var active = m.Op("Add", [x, m.Scalar(0.5)]);
            long[] dims = broadcast switch
            {
                "channel" => [3, 1, 1],
                "row" => [1, 3, 1, Size],
                "scalar" => [],
                _ => [1, 1, Size, 1],
            };
            if (broadcast == "active")
            {
                active = m.Op("ReduceMean", active, ("axes", new long[] { 2 }));
            }

            var constant = m.Constant(dims, [.. Enumerable.Range(0, (int)dims.Aggregate(1L, (a, b) => a * b)).Select(i => 0.5 + (i * 0.618 % 1))]);
            return m.Op(op, constantFirst ? [constant, active] : [active, constant]);
        }, height: Size, width: Size);

    [Fact]
    public void Mul_of_x_and_its_sigmoid() => GradientAssert.Check((m, x) =>
    {
        var a = m.Spread(x, 4);
        return m.Op("Mul", [a, m.Op("Sigmoid", a)]);
    });

    [Fact]
    public void Div_of_x_by_abs_x_plus_one() => GradientAssert.Check((m, x) =>
    {
        var a = m.Spread(x, 4);
        return m.Op("Div", [a, m.Op("Add", [m.Op("Abs", a), m.Scalar(1)])]);
    });

    [Fact]
    public void Mul_of_x_by_itself() => GradientAssert.Check((m, x) =>
    {
        var a = m.Spread(x, 2);
        return m.Op("Mul", [a, a]);
    });

    [Fact]
    public void Sub_of_the_channel_mean_broadcasts_the_active_subtrahend() =>
        GradientAssert.Check((m, x) => m.Op("Sub", [m.Op("Tanh", m.Spread(x, 3)), m.Op("ReduceMean", x, ("axes", new long[] { 1 }))]));

    [Fact]
    public void Sum_of_three_active_tensors_one_broadcast() => GradientAssert.Check((m, x) =>
    {
        var a = m.Spread(x, 2);
        return m.Op("Sum", [a, m.Op("Tanh", a), m.Op("ReduceMean", m.Op("Mul", [a, a]), ("axes", new long[] { 1 }))]);
    });

    [Fact]
    public void Pow_with_a_constant_exponent() => GradientAssert.Check((m, x) => m.Op("Pow", [m.Spread(x, 2), m.Scalar(2)]));

    [Fact]
    public void Pow_with_both_operands_active() => GradientAssert.Check((m, x) =>
        m.Op("Pow", [m.Op("Add", [x, m.Scalar(0.5)]), m.Op("Sigmoid", m.Spread(x, 4))]));

    [Fact]
    public void Expand_of_a_row_mean_to_the_image_shape() => GradientAssert.Check((m, x) =>
        m.Op("Expand", [m.Op("ReduceMean", m.Spread(x, 2), ("axes", new long[] { 2 }), ("keepdims", 1L)), m.Op("Shape", x)]));

    // [3,H,W] (the batch mean) expanded to [N,3,H,W]: a new leading axis, summed back over.
    [Fact]
    public void Expand_adds_a_leading_axis() => GradientAssert.Check((m, x) =>
        m.Op("Expand", [m.Op("ReduceMean", m.Spread(x, 2), ("axes", new long[] { 0 }), ("keepdims", 0L)), m.Op("Shape", x)]));

    // A target shape of lower rank with ones where the input is larger: the output is the input's shape.
    [Fact]
    public void Expand_to_a_shape_of_ones_keeps_the_input_shape() => GradientAssert.Check((m, x) =>
        m.Op("Expand", [m.Op("Tanh", m.Spread(x, 2)), m.Int64Constant([1, 1, 1])]));

    // [N,1,H,1] against the shape [3,1,W]: both broadcast, into [N,3,H,W].
    [Fact]
    public void Expand_broadcasts_both_ways() => GradientAssert.Check((m, x) =>
        m.Op("Expand", [m.Op("ReduceMean", m.Op("Mul", [x, x]), ("axes", new long[] { 1, 3 })), m.Int64Constant([3, 1, 6])]), height: 6, width: 6);
}
