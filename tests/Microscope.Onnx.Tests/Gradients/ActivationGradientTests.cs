using Microscope.Testing;
using DataType = Microscope.Onnx.Proto.TensorProto.Types.DataType;

namespace Microscope.Onnx.Tests.Gradients;

/// <summary>
/// The element-wise activations. The image is in [0, 1]; the piecewise ones get (x − 0.5)·scale so
/// that the values fall on both sides of every kink, and each branch's derivative is checked.
/// </summary>
public sealed class ActivationGradientTests
{
    private static void CheckUnary(string op, double scale, long opset = 17, params (string, object)[] attributes) =>
        GradientAssert.Check((m, x) => m.Op(op, m.Spread(x, scale), attributes), opset: opset);

    [Theory]
    [InlineData("Relu")]
    [InlineData("Sigmoid")]
    [InlineData("Tanh")]
    [InlineData("Softplus")]
    [InlineData("Exp")]
    [InlineData("Erf")]
    [InlineData("Neg")]
    [InlineData("Abs")]
    [InlineData("Identity")]
    public void Unary_without_attributes(string op) => CheckUnary(op, 3);

    [Theory]
    [InlineData("none")]
    [InlineData("tanh")]
    public void Gelu_opset_20(string approximate) => CheckUnary("Gelu", 6, opset: 20, attributes: [("approximate", approximate)]);

    [Fact]
    public void LeakyRelu_alpha() => CheckUnary("LeakyRelu", 2, attributes: [("alpha", 0.3)]);

    [Fact]
    public void Elu_alpha() => CheckUnary("Elu", 2, attributes: [("alpha", 0.7)]);

    // alpha·x + beta is linear for x in (−1.2, 0.8): the values (in [−2, 2]) reach both flat pieces.
    [Fact]
    public void HardSigmoid_alpha_and_beta() => CheckUnary("HardSigmoid", 4, attributes: [("alpha", 0.5), ("beta", 0.6)]);

    // Values in [−5, 5]: below −3, the quadratic middle and above 3.
    [Fact]
    public void HardSwish() => CheckUnary("HardSwish", 10, opset: 14);

    [Fact]
    public void PRelu_with_a_slope_per_channel() =>
        GradientAssert.Check((m, x) => m.Op("PRelu", [m.Spread(x, 2), m.Constant([3, 1, 1], [0.1, -0.4, 0.7])]));

    [Fact]
    public void Clip_min_and_max() =>
        GradientAssert.Check((m, x) => m.Op("Clip", [m.Spread(x, 2), m.Scalar(-0.3), m.Scalar(0.4)]));

    [Fact]
    public void Clip_min_only() => GradientAssert.Check((m, x) => m.Op("Clip", [m.Spread(x, 2), m.Scalar(-0.3)]));

    [Fact]
    public void Clip_opset_9_attributes() => CheckUnary("Clip", 2, opset: 9, attributes: [("min", -0.3), ("max", 0.4)]);

    [Fact]
    public void Sqrt_of_positive_values() => GradientAssert.Check((m, x) => m.Op("Sqrt", m.Op("Add", [x, m.Scalar(0.5)])));

    [Fact]
    public void Dropout_at_opset_9_is_the_identity() =>
        GradientAssert.Check((m, x) => m.Op("Tanh", m.Op("Dropout", m.Spread(x, 3), ("ratio", 0.5))), opset: 9);

    // Float32 → double → float32, exact both ways. (The double run cannot return a float32 layer, so this
    // runs in float32.) An op between the two Casts is not supported: every rule computes in the image's type.
    [Fact]
    public void Cast_to_double_and_back()
    {
        var type = GradientAssert.Check((m, x) =>
        {
            var wide = m.Op("Cast", m.Spread(x, 3), ("to", (long)DataType.Double));
            return m.Op("Tanh", m.Op("Cast", wide, ("to", (long)DataType.Float)));
        });
        Assert.Equal(DataType.Float, type);
    }
}

/// <summary>Small inputs shared by the gradient tests.</summary>
internal static class GradientTestInputs
{
    /// <summary>(x − 0.5)·scale: the image, centred on 0 and spread over [−scale/2, scale/2].</summary>
    public static string Spread(this TinyModel m, string x, double scale) =>
        m.Op("Mul", [m.Op("Sub", [x, m.Scalar(0.5)]), m.Scalar(scale)]);

    /// <summary>A scalar constant of the model's element type.</summary>
    public static string Scalar(this TinyModel m, double value) => m.Constant([], [value]);

    /// <summary>A float32 constant whatever the model's element type (Resize and Upsample scales), as a Constant node.</summary>
    public static string FloatConstant(this TinyModel m, params float[] values) =>
        m.Op("Constant", [], ("value", Tensors.Float("value", [values.Length], values)));
}
