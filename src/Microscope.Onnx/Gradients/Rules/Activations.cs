using Microscope.Onnx.Proto;

namespace Microscope.Onnx.Gradients.Rules;

// Conventions at the points where these functions have no derivative (written down once):
// Relu, LeakyRelu, PRelu, Elu: the x > 0 branch is taken only for x > 0 (at 0 the left derivative).
// Clip: the gradient passes where min <= x <= max (bounds included, as PyTorch's clamp).
// HardSigmoid, HardSwish: the linear piece is taken only strictly inside its interval.
// Abs: derivative 0 at 0.
//
// Lucid's redirected gradient (graphs built with GradientRequest.ReluRedirect, switched on by their
// relu_redirect input): a unit that the start image leaves at zero passes no gradient through its
// Relu, so its feature visualization never starts. While the switch is on, Relu and Clip pass the
// incoming gradient where x lies outside their range too, unless it would push x further out (we
// climb, so x moves along +dY: below the range dY < 0 is blocked, above it dY > 0), and only for
// the batch entries (first axis) through which the true gradient passes nothing at all. Feature
// visualization switches it on for its first steps and then climbs the true gradient.

/// <summary>
/// Relu: dX = dY where y &gt; 0, else 0. The mask is read from the output (y &gt; 0 exactly when x &gt; 0),
/// so that the input stays private to the Relu and ONNX Runtime can still fuse it into the Conv
/// before it, as it does in the forward pass alone.
/// </summary>
public sealed class ReluRule : IGradientRule
{
    public IReadOnlyList<string> OpTypes { get; } = ["Relu"];

    public void Backward(NodeProto node, GradientContext c)
    {
        var y = node.Output[0];
        var gradient = c.OutputGradient(node)!;
        var passes = c.Emit("Greater", [y, c.Scalar(0)]);
        var exact = c.Emit("Where", [passes, gradient, c.Scalar(0)]);
        c.Accumulate(node.Input[0], Redirect.Apply(c, exact, gradient, c.Rank(y), below: c.Emit("Not", [passes]), above: null));
    }
}

/// <summary>LeakyRelu: f' = 1 where x &gt; 0, else alpha (read from y, which has x's sign for alpha &gt; 0).</summary>
public sealed class LeakyReluRule : UnaryRule
{
    public override IReadOnlyList<string> OpTypes { get; } = ["LeakyRelu"];

    protected override string Derivative(NodeProto node, string x, string y, GradientContext c)
    {
        var alpha = node.Float("alpha", 0.01f);
        return c.Emit("Where", [c.Emit("Greater", [alpha > 0 ? y : x, c.Scalar(0)]), c.Scalar(1), c.Scalar(alpha)]);
    }
}

/// <summary>PRelu: f' = 1 where x &gt; 0, else the (broadcast) slope. The slope is a weight: no gradient.</summary>
public sealed class PReluRule : UnaryRule
{
    public override IReadOnlyList<string> OpTypes { get; } = ["PRelu"];

    protected override string Derivative(NodeProto node, string x, string y, GradientContext c) =>
        c.Emit("Where", [c.Emit("Greater", [x, c.Scalar(0)]), c.OnesLike(x), c.Emit("Expand", [node.Input[1], c.Shape(x)])]);
}

/// <summary>Elu: f' = 1 where x &gt; 0 (equivalently y &gt; 0), else y + alpha.</summary>
public sealed class EluRule : UnaryRule
{
    public override IReadOnlyList<string> OpTypes { get; } = ["Elu"];

    protected override string Derivative(NodeProto node, string x, string y, GradientContext c) =>
        c.Emit("Where", [c.Emit("Greater", [y, c.Scalar(0)]), c.Scalar(1), c.Add(y, c.Scalar(node.Float("alpha", 1f)))]);
}

/// <summary>Clip (min and max as optional inputs): f' = 1 where min &lt;= x &lt;= max (Relu6 exports as Clip(0, 6)).</summary>
public sealed class ClipRule : IGradientRule
{
    public IReadOnlyList<string> OpTypes { get; } = ["Clip"];

    public void Backward(NodeProto node, GradientContext c)
    {
        var x = node.Input[0];
        var gradient = c.OutputGradient(node)!;
        var min = node.InputOrEmpty(1);
        var max = node.InputOrEmpty(2);
        var below = min.Length > 0 ? c.Emit("Less", [x, min]) : null;
        var above = max.Length > 0 ? c.Emit("Greater", [x, max]) : null;
        var outside = below is null ? above : above is null ? below : c.Emit("Or", [below, above]);
        if (outside is null)
        {
            c.Accumulate(x, gradient);
            return;
        }

        var exact = c.Emit("Where", [outside, c.Scalar(0), gradient]);
        c.Accumulate(x, Redirect.Apply(c, exact, gradient, c.Rank(x), below, above));
    }
}

/// <summary>Lucid's redirected gradient for Relu and Clip (the convention is written at the top of this file).</summary>
internal static class Redirect
{
    /// <param name="exact">dX with the true derivative.</param>
    /// <param name="gradient">dY.</param>
    /// <param name="rank">The tensors' rank.</param>
    /// <param name="below">Where x lies below the range, or null when it has no lower bound.</param>
    /// <param name="above">Where x lies above it, or null.</param>
    /// <returns><paramref name="exact"/>, or the redirected gradient where the graph's switch is on and the batch entry gets nothing through.</returns>
    public static string Apply(GradientContext c, string exact, string gradient, int rank, string? below, string? above)
    {
        if (c.ReluRedirect is not { } redirect)
        {
            return exact;
        }

        var zero = c.Scalar(0);
        var downward = below is null ? null : c.Emit("And", [below, c.Emit("Less", [gradient, zero])]);
        var upward = above is null ? null : c.Emit("And", [above, c.Emit("Greater", [gradient, zero])]);
        var outward = downward is null ? upward! : upward is null ? downward : c.Emit("Or", [downward, upward]);
        var redirected = c.Emit("Where", [outward, zero, gradient]);

        long[] entry = rank > 1 ? [.. Enumerable.Range(1, rank - 1).Select(i => (long)i)] : [];
        var nothing = c.Emit("Equal", [c.ReduceSum(c.Emit("Abs", [exact]), entry, keepDims: true), zero]);
        var on = c.Emit("And", [nothing, c.Emit("Greater", [redirect, zero])]);
        return c.Emit("Where", [on, redirected, exact]);
    }
}

/// <summary>HardSigmoid y = max(0, min(1, alpha·x + beta)): f' = alpha where 0 &lt; alpha·x + beta &lt; 1.</summary>
public sealed class HardSigmoidRule : UnaryRule
{
    public override IReadOnlyList<string> OpTypes { get; } = ["HardSigmoid"];

    protected override string Derivative(NodeProto node, string x, string y, GradientContext c)
    {
        var alpha = node.Float("alpha", 0.2f);
        var linear = c.Add(c.Mul(x, c.Scalar(alpha)), c.Scalar(node.Float("beta", 0.5f)));
        var inside = c.Emit("And", [c.Emit("Greater", [linear, c.Scalar(0)]), c.Emit("Less", [linear, c.Scalar(1)])]);
        return c.Mul(c.Mask(inside), c.Scalar(alpha));
    }
}

/// <summary>HardSwish y = x · max(0, min(1, x/6 + 1/2)): f' = 0 for x &lt; −3, 1 for x &gt; 3, x/3 + 1/2 between.</summary>
public sealed class HardSwishRule : UnaryRule
{
    public override IReadOnlyList<string> OpTypes { get; } = ["HardSwish"];

    protected override string Derivative(NodeProto node, string x, string y, GradientContext c)
    {
        var middle = c.Add(c.Div(x, c.Scalar(3)), c.Scalar(0.5));
        var upper = c.Emit("Where", [c.Emit("Greater", [x, c.Scalar(3)]), c.Scalar(1), middle]);
        return c.Emit("Where", [c.Emit("Less", [x, c.Scalar(-3)]), c.Scalar(0), upper]);
    }
}

/// <summary>Sigmoid: f' = y (1 − y).</summary>
public sealed class SigmoidRule : UnaryRule
{
    public override IReadOnlyList<string> OpTypes { get; } = ["Sigmoid"];

    protected override string Derivative(NodeProto node, string x, string y, GradientContext c) => c.Mul(y, c.Sub(c.Scalar(1), y));
}

/// <summary>Tanh: f' = 1 − y².</summary>
public sealed class TanhRule : UnaryRule
{
    public override IReadOnlyList<string> OpTypes { get; } = ["Tanh"];

    protected override string Derivative(NodeProto node, string x, string y, GradientContext c) => c.Sub(c.Scalar(1), c.Mul(y, y));
}

/// <summary>Softplus y = ln(1 + eˣ): f' = sigmoid(x).</summary>
public sealed class SoftplusRule : UnaryRule
{
    public override IReadOnlyList<string> OpTypes { get; } = ["Softplus"];

    protected override string Derivative(NodeProto node, string x, string y, GradientContext c) => c.Emit("Sigmoid", [x]);
}

/// <summary>Exp: f' = y.</summary>
public sealed class ExpRule : UnaryRule
{
    public override IReadOnlyList<string> OpTypes { get; } = ["Exp"];

    protected override string Derivative(NodeProto node, string x, string y, GradientContext c) => y;
}

/// <summary>Sqrt: f' = 1 / (2y).</summary>
public sealed class SqrtRule : UnaryRule
{
    public override IReadOnlyList<string> OpTypes { get; } = ["Sqrt"];

    protected override string Derivative(NodeProto node, string x, string y, GradientContext c) => c.Div(c.Scalar(0.5), y);
}

/// <summary>Erf: f' = 2/√π · e^(−x²).</summary>
public sealed class ErfRule : UnaryRule
{
    public override IReadOnlyList<string> OpTypes { get; } = ["Erf"];

    protected override string Derivative(NodeProto node, string x, string y, GradientContext c) =>
        c.Mul(c.Scalar(2 / Math.Sqrt(Math.PI)), c.Emit("Exp", [c.Neg(c.Mul(x, x))]));
}

/// <summary>
/// Gelu (opset 20), y = x·Φ(x): f' = Φ(x) + x·φ(x). With approximate = "tanh",
/// y = x/2 · (1 + tanh(u)), u = √(2/π)·(x + 0.044715x³): f' = (1 + t)/2 + x/2 · (1 − t²) · √(2/π)·(1 + 3·0.044715x²).
/// Exporters before opset 20 write Gelu out with Erf, Mul and Add, which have their own rules.
/// </summary>
public sealed class GeluRule : UnaryRule
{
    private const double Cubic = 0.044715;

    public override IReadOnlyList<string> OpTypes { get; } = ["Gelu"];

    protected override string Derivative(NodeProto node, string x, string y, GradientContext c)
    {
        if (node.String("approximate", "none") == "tanh")
        {
            var k = Math.Sqrt(2 / Math.PI);
            var t = c.Emit("Tanh", [c.Mul(c.Scalar(k), c.Add(x, c.Mul(c.Scalar(Cubic), c.Mul(x, c.Mul(x, x)))))]);
            var slope = c.Mul(c.Scalar(k), c.Add(c.Scalar(1), c.Mul(c.Scalar(3 * Cubic), c.Mul(x, x))));
            var outer = c.Mul(c.Scalar(0.5), c.Add(c.Scalar(1), t));
            return c.Add(outer, c.Mul(c.Mul(c.Scalar(0.5), x), c.Mul(c.Sub(c.Scalar(1), c.Mul(t, t)), slope)));
        }

        var cdf = c.Mul(c.Scalar(0.5), c.Add(c.Scalar(1), c.Emit("Erf", [c.Mul(x, c.Scalar(1 / Math.Sqrt(2)))])));
        var pdf = c.Mul(c.Scalar(1 / Math.Sqrt(2 * Math.PI)), c.Emit("Exp", [c.Mul(c.Scalar(-0.5), c.Mul(x, x))]));
        return c.Add(cdf, c.Mul(x, pdf));
    }
}

/// <summary>Neg: f' = −1.</summary>
public sealed class NegRule : IGradientRule
{
    public IReadOnlyList<string> OpTypes { get; } = ["Neg"];

    public void Backward(NodeProto node, GradientContext c) => c.Accumulate(node.Input[0], c.Neg(c.OutputGradient(node)!));
}

/// <summary>Abs: f' = sign(x) (0 at 0).</summary>
public sealed class AbsRule : UnaryRule
{
    public override IReadOnlyList<string> OpTypes { get; } = ["Abs"];

    protected override string Derivative(NodeProto node, string x, string y, GradientContext c) => c.Emit("Sign", [x]);
}

/// <summary>Identity (and Dropout at inference, which the upgrader turns into Identity): dX = dY.</summary>
public sealed class IdentityRule : IGradientRule
{
    public IReadOnlyList<string> OpTypes { get; } = ["Identity", "Dropout"];

    public void Backward(NodeProto node, GradientContext c) => c.Accumulate(node.Input[0], c.OutputGradient(node)!);
}

/// <summary>Cast between float types: dX = dY cast back to the input's type.</summary>
public sealed class CastRule : IGradientRule
{
    public IReadOnlyList<string> OpTypes { get; } = ["Cast"];

    public void Backward(NodeProto node, GradientContext c) =>
        c.Accumulate(node.Input[0], c.Cast(c.OutputGradient(node)!, c.ElementType));
}
