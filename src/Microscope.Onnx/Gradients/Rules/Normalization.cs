using Microscope.Onnx.Proto;

namespace Microscope.Onnx.Gradients.Rules;

/// <summary>
/// BatchNormalization at inference is a per-channel affine map: dX = dY · scale / √(var + ε),
/// broadcast over the positions. The statistics are the model's (constants), not the batch's.
/// </summary>
public sealed class BatchNormalizationRule : IGradientRule
{
    public IReadOnlyList<string> OpTypes { get; } = ["BatchNormalization"];

    public void Backward(NodeProto node, GradientContext c)
    {
        var x = node.Input[0];
        var rank = c.Rank(x);
        var epsilon = node.Float("epsilon", 1e-5f);
        var factor = c.Div(node.Input[1], c.Emit("Sqrt", [c.Add(node.Input[4], c.Scalar(epsilon))]));
        var shape = c.Ints([-1, .. Enumerable.Repeat(1L, rank - 2)]);
        c.Accumulate(x, c.Mul(c.OutputGradient(node)!, c.Emit("Reshape", [c.Cast(factor, c.ElementType), shape])));
    }
}

/// <summary>
/// Normalization over a set of axes, y = scale · x̂ + bias with x̂ = (x − μ)/σ:
/// dX = (1/σ) · (g − mean(g) − x̂ · mean(g · x̂)) with g = dY · scale, means over the normalized axes.
/// </summary>
public abstract class NormalizationRule : IGradientRule
{
    public abstract IReadOnlyList<string> OpTypes { get; }

    public void Backward(NodeProto node, GradientContext c)
    {
        var x = node.Input[0];
        var rank = c.Rank(x);
        var axes = NormalizedAxes(node, rank);
        var epsilon = node.Float("epsilon", 1e-5f);
        var count = c.Cast(c.Emit("ReduceProd", [c.Emit("Gather", [c.Shape(x), c.Ints(axes)], NodeAttributes.IntAttribute("axis", 0))], NodeAttributes.IntAttribute("keepdims", 0)), c.ElementType);
        string Mean(string t) => c.Div(c.ReduceSum(t, axes, keepDims: true), count);

        var centered = c.Sub(x, Mean(x));
        var sigma = c.Emit("Sqrt", [c.Add(Mean(c.Mul(centered, centered)), c.Scalar(epsilon))]);
        var normalized = c.Div(centered, sigma);
        var g = c.Mul(c.OutputGradient(node)!, Scale(node, c, rank));
        var inner = c.Sub(c.Sub(g, Mean(g)), c.Mul(normalized, Mean(c.Mul(g, normalized))));
        c.Accumulate(x, c.Div(inner, sigma));
    }

    protected abstract long[] NormalizedAxes(NodeProto node, int rank);

    protected abstract string Scale(NodeProto node, GradientContext c, int rank);
}

/// <summary>LayerNormalization: normalized over the axes from `axis` (default −1) to the last.</summary>
public sealed class LayerNormalizationRule : NormalizationRule
{
    public override IReadOnlyList<string> OpTypes { get; } = ["LayerNormalization"];

    protected override long[] NormalizedAxes(NodeProto node, int rank)
    {
        var axis = node.Int("axis", -1);
        axis = axis < 0 ? axis + rank : axis;
        return [.. Enumerable.Range((int)axis, rank - (int)axis).Select(i => (long)i)];
    }

    protected override string Scale(NodeProto node, GradientContext c, int rank) => node.Input[1];
}

/// <summary>InstanceNormalization: normalized over the positions of each channel; scale per channel.</summary>
public sealed class InstanceNormalizationRule : NormalizationRule
{
    public override IReadOnlyList<string> OpTypes { get; } = ["InstanceNormalization"];

    protected override long[] NormalizedAxes(NodeProto node, int rank) => [.. Enumerable.Range(2, rank - 2).Select(i => (long)i)];

    protected override string Scale(NodeProto node, GradientContext c, int rank) =>
        c.Emit("Reshape", [node.Input[1], c.Ints([-1, .. Enumerable.Repeat(1L, rank - 2)])]);
}
