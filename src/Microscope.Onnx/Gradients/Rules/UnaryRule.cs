using Microscope.Onnx.Proto;

namespace Microscope.Onnx.Gradients.Rules;

/// <summary>An element-wise op of one differentiable input: dX = dY · f'(x), with f' given by <see cref="Derivative"/>.</summary>
public abstract class UnaryRule : IGradientRule
{
    public abstract IReadOnlyList<string> OpTypes { get; }

    public void Backward(NodeProto node, GradientContext context)
    {
        var input = node.Input[0];
        if (!context.IsActive(input))
        {
            return;
        }

        var gradient = context.OutputGradient(node)!;
        context.Accumulate(input, context.Mul(gradient, Derivative(node, input, node.Output[0], context)));
    }

    /// <summary>f'(x) as a tensor, from the input x and the output y.</summary>
    protected abstract string Derivative(NodeProto node, string x, string y, GradientContext context);
}
