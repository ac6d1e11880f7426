using Microscope.Onnx.Proto;

namespace Microscope.Onnx.Gradients.Rules;

/// <summary>Shared work of the broadcasting binary ops: each input gets its share summed over the axes it was broadcast along.</summary>
public abstract class BinaryRule : IGradientRule
{
    public abstract IReadOnlyList<string> OpTypes { get; }

    public void Backward(NodeProto node, GradientContext c)
    {
        var (a, b) = (node.Input[0], node.Input[1]);
        var gradient = c.OutputGradient(node)!;
        var shape = c.ReferenceShape(node.Output[0]);
        if (c.IsActive(a))
        {
            c.Accumulate(a, c.Unbroadcast(GradientA(node, gradient, c), shape, a));
        }

        if (c.IsActive(b))
        {
            c.Accumulate(b, c.Unbroadcast(GradientB(node, gradient, c), shape, b));
        }
    }

    protected abstract string GradientA(NodeProto node, string gradient, GradientContext c);

    protected abstract string GradientB(NodeProto node, string gradient, GradientContext c);
}

/// <summary>Add: dA = dY, dB = dY.</summary>
public sealed class AddRule : BinaryRule
{
    public override IReadOnlyList<string> OpTypes { get; } = ["Add"];

    protected override string GradientA(NodeProto node, string gradient, GradientContext c) => gradient;

    protected override string GradientB(NodeProto node, string gradient, GradientContext c) => gradient;
}

/// <summary>Sub: dA = dY, dB = −dY.</summary>
public sealed class SubRule : BinaryRule
{
    public override IReadOnlyList<string> OpTypes { get; } = ["Sub"];

    protected override string GradientA(NodeProto node, string gradient, GradientContext c) => gradient;

    protected override string GradientB(NodeProto node, string gradient, GradientContext c) => c.Neg(gradient);
}

/// <summary>Mul: dA = dY·B, dB = dY·A.</summary>
public sealed class MulRule : BinaryRule
{
    public override IReadOnlyList<string> OpTypes { get; } = ["Mul"];

    protected override string GradientA(NodeProto node, string gradient, GradientContext c) => c.Mul(gradient, node.Input[1]);

    protected override string GradientB(NodeProto node, string gradient, GradientContext c) => c.Mul(gradient, node.Input[0]);
}

/// <summary>Div: dA = dY / B, dB = −dY · Y / B.</summary>
public sealed class DivRule : BinaryRule
{
    public override IReadOnlyList<string> OpTypes { get; } = ["Div"];

    protected override string GradientA(NodeProto node, string gradient, GradientContext c) => c.Div(gradient, node.Input[1]);

    protected override string GradientB(NodeProto node, string gradient, GradientContext c) =>
        c.Neg(c.Div(c.Mul(gradient, node.Output[0]), node.Input[1]));
}

/// <summary>Pow y = a^b: dA = dY · b · a^(b−1), dB = dY · y · ln(a).</summary>
public sealed class PowRule : BinaryRule
{
    public override IReadOnlyList<string> OpTypes { get; } = ["Pow"];

    protected override string GradientA(NodeProto node, string gradient, GradientContext c)
    {
        var exponent = node.Input[1];
        var lowered = c.Emit("Pow", [node.Input[0], c.Sub(exponent, c.Scalar(1))]);
        return c.Mul(gradient, c.Mul(exponent, lowered));
    }

    protected override string GradientB(NodeProto node, string gradient, GradientContext c) =>
        c.Mul(gradient, c.Mul(node.Output[0], c.Emit("Log", [node.Input[0]])));
}

/// <summary>Sum (variadic Add): every input gets dY, unbroadcast.</summary>
public sealed class SumRule : IGradientRule
{
    public IReadOnlyList<string> OpTypes { get; } = ["Sum"];

    public void Backward(NodeProto node, GradientContext c)
    {
        var gradient = c.OutputGradient(node)!;
        var shape = c.ReferenceShape(node.Output[0]);
        foreach (var input in node.Input.Where(c.IsActive))
        {
            c.Accumulate(input, c.Unbroadcast(gradient, shape, input));
        }
    }
}

/// <summary>Expand: dX = dY summed back to the input's shape.</summary>
public sealed class ExpandRule : IGradientRule
{
    public IReadOnlyList<string> OpTypes { get; } = ["Expand"];

    public void Backward(NodeProto node, GradientContext c) =>
        c.Accumulate(node.Input[0], c.Unbroadcast(c.OutputGradient(node)!, c.ReferenceShape(node.Output[0]), node.Input[0]));
}
