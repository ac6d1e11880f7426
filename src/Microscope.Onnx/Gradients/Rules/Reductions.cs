using Microscope.Onnx.Proto;

namespace Microscope.Onnx.Gradients.Rules;

/// <summary>
/// The Reduce* ops. Axes come from the attribute (before opset 18, ReduceSum before 13) or a constant
/// input; none means every axis, or the identity with noop_with_empty_axes. dY (unsqueezed where
/// keepdims = 0) and y are brought back to x's rank, and each op says what one element of x gets.
/// </summary>
public abstract class ReduceRule : IGradientRule
{
    public abstract IReadOnlyList<string> OpTypes { get; }

    public void Backward(NodeProto node, GradientContext c)
    {
        var x = node.Input[0];
        var rank = c.Rank(x);
        var gradient = c.OutputGradient(node)!;
        var axes = ReducedAxes(node, c, rank);
        if (axes is null)
        {
            c.Accumulate(x, gradient);
            return;
        }

        var kept = node.Int("keepdims", 1) == 1;
        if (!kept)
        {
            gradient = c.Emit("Unsqueeze", [gradient, c.Ints(axes)]);
        }

        string Output() => kept ? node.Output[0] : c.Emit("Unsqueeze", [node.Output[0], c.Ints(axes)]);
        c.Accumulate(x, Gradient(c, x, Output, c.Emit("Expand", [gradient, c.Shape(x)]), axes));
    }

    /// <summary>dX from the input, the output with the reduced axes kept (emitted when asked for), and dY expanded to the input's shape.</summary>
    protected abstract string Gradient(GradientContext c, string x, Func<string> y, string spread, long[] axes);

    /// <summary>The reduced axes, non-negative and sorted; null when the op is the identity (no axes and noop_with_empty_axes).</summary>
    private static long[]? ReducedAxes(NodeProto node, GradientContext c, int rank)
    {
        long[] axes;
        if (node.Ints("axes") is { } attribute)
        {
            axes = attribute;
        }
        else if (node.InputOrEmpty(1).Length > 0)
        {
            axes = c.ConstantValue(node.Input[1]) is { } constant
                ? Tensors.ToInt64s(constant)
                : throw new ModelFormatException($"{node.OpType} node '{node.Name}' reduces over axes computed at run time; only constant axes have a gradient rule.");
        }
        else
        {
            axes = [];
        }

        if (axes.Length == 0)
        {
            if (node.Int("noop_with_empty_axes", 0) == 1)
            {
                return null;
            }

            axes = [.. Enumerable.Range(0, rank).Select(i => (long)i)];
        }

        return [.. axes.Select(a => a < 0 ? a + rank : a).Order()];
    }
}

/// <summary>ReduceSum: every element gets dY.</summary>
public sealed class ReduceSumRule : ReduceRule
{
    public override IReadOnlyList<string> OpTypes { get; } = ["ReduceSum"];

    protected override string Gradient(GradientContext c, string x, Func<string> y, string spread, long[] axes) => spread;
}

/// <summary>ReduceMean: every element gets dY divided by the number of elements reduced.</summary>
public sealed class ReduceMeanRule : ReduceRule
{
    public override IReadOnlyList<string> OpTypes { get; } = ["ReduceMean"];

    protected override string Gradient(GradientContext c, string x, Func<string> y, string spread, long[] axes)
    {
        var count = c.Cast(c.Emit("ReduceProd", [c.Emit("Gather", [c.Shape(x), c.Ints(axes)], NodeAttributes.IntAttribute("axis", 0))], NodeAttributes.IntAttribute("keepdims", 0)), c.ElementType);
        return c.Div(spread, count);
    }
}

/// <summary>ReduceMax and ReduceMin: dY goes to the elements that attain the extremum, shared among ties (Selection.cs).</summary>
public sealed class ReduceExtremumRule : ReduceRule
{
    public override IReadOnlyList<string> OpTypes { get; } = ["ReduceMax", "ReduceMin"];

    protected override string Gradient(GradientContext c, string x, Func<string> y, string spread, long[] axes) => Extremum.Share(c, x, y(), spread, axes);
}

/// <summary>ReduceL2, y = √Σx²: dX = dY · x / y, and 0 where y = 0 (the norm has no derivative at the origin).</summary>
public sealed class ReduceL2Rule : ReduceRule
{
    public override IReadOnlyList<string> OpTypes { get; } = ["ReduceL2"];

    protected override string Gradient(GradientContext c, string x, Func<string> y, string spread, long[] axes)
    {
        var norm = y();
        var zero = c.Emit("Equal", [norm, c.Scalar(0)]);
        var safe = c.Emit("Where", [zero, c.Scalar(1), norm]);
        return c.Emit("Where", [zero, c.Scalar(0), c.Div(c.Mul(spread, x), safe)]);
    }
}

/// <summary>ReduceL1, y = Σ|x|: dX = dY · sign(x) (0 at 0, as Abs).</summary>
public sealed class ReduceL1Rule : ReduceRule
{
    public override IReadOnlyList<string> OpTypes { get; } = ["ReduceL1"];

    protected override string Gradient(GradientContext c, string x, Func<string> y, string spread, long[] axes) => c.Mul(spread, c.Emit("Sign", [x]));
}

/// <summary>ReduceSumSquare, y = Σx²: dX = 2x · dY.</summary>
public sealed class ReduceSumSquareRule : ReduceRule
{
    public override IReadOnlyList<string> OpTypes { get; } = ["ReduceSumSquare"];

    protected override string Gradient(GradientContext c, string x, Func<string> y, string spread, long[] axes) => c.Mul(spread, c.Mul(x, c.Scalar(2)));
}

/// <summary>ReduceLogSumExp, y = ln Σeˣ: dX = dY · e^(x − y), the softmax over the reduced axes.</summary>
public sealed class ReduceLogSumExpRule : ReduceRule
{
    public override IReadOnlyList<string> OpTypes { get; } = ["ReduceLogSumExp"];

    protected override string Gradient(GradientContext c, string x, Func<string> y, string spread, long[] axes) => c.Mul(spread, c.Emit("Exp", [c.Sub(x, y())]));
}
