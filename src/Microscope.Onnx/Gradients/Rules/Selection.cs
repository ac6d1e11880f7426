using Microscope.Onnx.Proto;

namespace Microscope.Onnx.Gradients.Rules;

// Convention where a maximum or minimum is tied (written down once): the elements that attain it
// share the gradient equally (Max, Min, ReduceMax, ReduceMin, GlobalMaxPool), as PyTorch's
// maximum and amax do. This is also the slope a central finite difference measures at a tie of two
// elements. MaxPool is the exception: it follows ONNX Runtime's Indices output (the first maximum).

/// <summary>Where(condition, A, B): dA = dY where the condition holds, dB = dY elsewhere, each unbroadcast. The condition carries none.</summary>
public sealed class WhereRule : IGradientRule
{
    public IReadOnlyList<string> OpTypes { get; } = ["Where"];

    public void Backward(NodeProto node, GradientContext c)
    {
        var condition = node.Input[0];
        var gradient = c.OutputGradient(node)!;
        var shape = c.ReferenceShape(node.Output[0]);
        var zero = c.Scalar(0);
        if (c.IsActive(node.Input[1]))
        {
            c.Accumulate(node.Input[1], c.Unbroadcast(c.Emit("Where", [condition, gradient, zero]), shape, node.Input[1]));
        }

        if (c.IsActive(node.Input[2]))
        {
            c.Accumulate(node.Input[2], c.Unbroadcast(c.Emit("Where", [condition, zero, gradient]), shape, node.Input[2]));
        }
    }
}

/// <summary>Max and Min of any number of broadcast inputs: each input gets dY where it attains the result, shared among ties, unbroadcast.</summary>
public sealed class MaxMinRule : IGradientRule
{
    public IReadOnlyList<string> OpTypes { get; } = ["Max", "Min"];

    public void Backward(NodeProto node, GradientContext c)
    {
        var y = node.Output[0];
        var shape = c.ReferenceShape(y);
        var masks = node.Input.Select(x => c.Mask(c.Emit("Equal", [x, y]))).ToArray();
        var share = c.Div(c.OutputGradient(node)!, masks.Length == 1 ? masks[0] : c.Emit("Sum", masks));
        for (var i = 0; i < node.Input.Count; i++)
        {
            if (c.IsActive(node.Input[i]))
            {
                c.Accumulate(node.Input[i], c.Unbroadcast(c.Mul(share, masks[i]), shape, node.Input[i]));
            }
        }
    }
}

/// <summary>The gradient of a maximum or minimum over axes, shared among the elements that attain it.</summary>
internal static class Extremum
{
    /// <param name="x">The reduced tensor.</param>
    /// <param name="y">The extremum with the reduced axes kept (size 1).</param>
    /// <param name="gradient">dY, shaped like <paramref name="y"/> or already expanded to x.</param>
    /// <param name="axes">The reduced axes, non-negative.</param>
    public static string Share(GradientContext c, string x, string y, string gradient, long[] axes)
    {
        var mask = c.Mask(c.Emit("Equal", [x, y]));
        var ties = c.ReduceSum(mask, axes, keepDims: true);
        return c.Mul(c.Div(gradient, ties), mask);
    }
}
