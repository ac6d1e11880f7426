using Microscope.Onnx.Proto;

namespace Microscope.Onnx.Gradients.Rules;

/// <summary>ReduceSum and ReduceMean: dY (unsqueezed where keepdims = 0) spread over the reduced axes, divided by their size for the mean.</summary>
public abstract class ReduceRule : IGradientRule
{
    public abstract IReadOnlyList<string> OpTypes { get; }

    protected abstract bool IsMean { get; }

    public void Backward(NodeProto node, GradientContext c)
    {
        var x = node.Input[0];
        var rank = c.Rank(x);
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
                c.Accumulate(x, c.OutputGradient(node)!);
                return;
            }

            axes = [.. Enumerable.Range(0, rank).Select(i => (long)i)];
        }

        axes = [.. axes.Select(a => a < 0 ? a + rank : a).Order()];
        var gradient = c.OutputGradient(node)!;
        if (node.Int("keepdims", 1) == 0)
        {
            gradient = c.Emit("Unsqueeze", [gradient, c.Ints(axes)]);
        }

        var spread = c.Emit("Expand", [gradient, c.Shape(x)]);
        if (IsMean)
        {
            var count = c.Cast(c.Emit("ReduceProd", [c.Emit("Gather", [c.Shape(x), c.Ints(axes)], NodeAttributes.IntAttribute("axis", 0))], NodeAttributes.IntAttribute("keepdims", 0)), c.ElementType);
            spread = c.Div(spread, count);
        }

        c.Accumulate(x, spread);
    }
}

public sealed class ReduceSumRule : ReduceRule
{
    public override IReadOnlyList<string> OpTypes { get; } = ["ReduceSum"];

    protected override bool IsMean => false;
}

public sealed class ReduceMeanRule : ReduceRule
{
    public override IReadOnlyList<string> OpTypes { get; } = ["ReduceMean"];

    protected override bool IsMean => true;
}
