using Microscope.Onnx.Proto;

namespace Microscope.Onnx.Gradients.Rules;

/// <summary>MatMul (rank ≥ 2, numpy batch broadcasting): dA = dY · Bᵀ, dB = Aᵀ · dY, each summed over broadcast batch axes.</summary>
public sealed class MatMulRule : IGradientRule
{
    public IReadOnlyList<string> OpTypes { get; } = ["MatMul"];

    public void Backward(NodeProto node, GradientContext c)
    {
        var (a, b) = (node.Input[0], node.Input[1]);
        var (shapeA, shapeB, shapeY) = (c.ReferenceShape(a), c.ReferenceShape(b), c.ReferenceShape(node.Output[0]));
        if (shapeA.Length < 2 || shapeB.Length < 2)
        {
            throw new ModelFormatException($"MatMul node '{node.Name}' multiplies a vector; only matrices (rank 2 and up) have a gradient rule yet.");
        }

        var gradient = c.OutputGradient(node)!;
        if (c.IsActive(a))
        {
            var full = c.Emit("MatMul", [gradient, c.TransposeLastTwo(b, shapeB.Length)]);
            c.Accumulate(a, c.Unbroadcast(full, [.. shapeY[..^2], .. shapeA[^2..]], a));
        }

        if (c.IsActive(b))
        {
            var full = c.Emit("MatMul", [c.TransposeLastTwo(a, shapeA.Length), gradient]);
            c.Accumulate(b, c.Unbroadcast(full, [.. shapeY[..^2], .. shapeB[^2..]], b));
        }
    }
}

/// <summary>Gemm, Y = α·op(A)·op(B) + β·C: dA = α·dY·op(B)ᵀ (transposed back if transA), dB likewise, dC = β·dY unbroadcast.</summary>
public sealed class GemmRule : IGradientRule
{
    public IReadOnlyList<string> OpTypes { get; } = ["Gemm"];

    public void Backward(NodeProto node, GradientContext c)
    {
        var (a, b) = (node.Input[0], node.Input[1]);
        var alpha = node.Float("alpha", 1f);
        var beta = node.Float("beta", 1f);
        var transA = node.Int("transA", 0) == 1;
        var transB = node.Int("transB", 0) == 1;
        var gradient = c.OutputGradient(node)!;
        var scaled = alpha == 1f ? gradient : c.Mul(gradient, c.Scalar(alpha));
        string T(string t) => c.Emit("Transpose", [t], NodeAttributes.IntsAttribute("perm", 1, 0));

        if (c.IsActive(a))
        {
            // d op(A) = dY · op(B)ᵀ
            var opB = transB ? T(b) : b;
            var dOpA = c.Emit("MatMul", [scaled, T(opB)]);
            c.Accumulate(a, transA ? T(dOpA) : dOpA);
        }

        if (c.IsActive(b))
        {
            var opA = transA ? T(a) : a;
            var dOpB = c.Emit("MatMul", [T(opA), scaled]);
            c.Accumulate(b, transB ? T(dOpB) : dOpB);
        }

        var bias = node.InputOrEmpty(2);
        if (c.IsActive(bias))
        {
            var term = beta == 1f ? gradient : c.Mul(gradient, c.Scalar(beta));
            c.Accumulate(bias, c.Unbroadcast(term, c.ReferenceShape(node.Output[0]), bias));
        }
    }
}

/// <summary>Softmax (opset 13 and later: one axis): dX = y · (dY − Σ_axis dY·y).</summary>
public sealed class SoftmaxRule : IGradientRule
{
    public IReadOnlyList<string> OpTypes { get; } = ["Softmax"];

    public void Backward(NodeProto node, GradientContext c)
    {
        var y = node.Output[0];
        var axis = node.Int("axis", -1);
        var gradient = c.OutputGradient(node)!;
        var dot = c.ReduceSum(c.Mul(gradient, y), [axis], keepDims: true);
        c.Accumulate(node.Input[0], c.Mul(y, c.Sub(gradient, dot)));
    }
}

/// <summary>LogSoftmax: dX = dY − exp(y) · Σ_axis dY.</summary>
public sealed class LogSoftmaxRule : IGradientRule
{
    public IReadOnlyList<string> OpTypes { get; } = ["LogSoftmax"];

    public void Backward(NodeProto node, GradientContext c)
    {
        var axis = node.Int("axis", -1);
        var gradient = c.OutputGradient(node)!;
        var total = c.ReduceSum(gradient, [axis], keepDims: true);
        c.Accumulate(node.Input[0], c.Sub(gradient, c.Mul(c.Emit("Exp", [node.Output[0]]), total)));
    }
}
