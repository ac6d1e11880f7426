using Microscope.Onnx.Proto;

namespace Microscope.Onnx.Gradients;

/// <summary>
/// How one ONNX op passes the gradient back from its outputs to its inputs. A rule reads the
/// output gradients with <see cref="GradientContext.OutputGradient"/>, emits standard ONNX nodes,
/// and hands each active input its share with <see cref="GradientContext.Accumulate"/>.
/// Rules are registered in <see cref="GradientRules"/>.
/// </summary>
public interface IGradientRule
{
    /// <summary>The op types this rule differentiates.</summary>
    IReadOnlyList<string> OpTypes { get; }

    /// <summary>Optionally changes the forward node before the graph is measured (MaxPool adds its Indices output).</summary>
    void PrepareForward(NodeProto node, Func<string, string> freshName)
    {
    }

    void Backward(NodeProto node, GradientContext context);
}
