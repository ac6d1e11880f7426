using Microscope.Onnx.Proto;

namespace Microscope.Onnx.Gradients.Rules;

/// <summary>
/// Pad in every mode. Constant padding with pads ≥ 0 crops dY back to X (the padding received no
/// input). Otherwise (reflect, edge, wrap; negative pads; pads on selected axes) the op is linear
/// and separable: along each padded axis Y = P·X, where P ([padded, n]) is obtained by padding an
/// n×n identity matrix with the node's own pads and mode, so that P is exactly the op's, and
/// dX = Pᵀ·dY axis by axis. Pads may be computed at run time; the axes must be constants.
/// </summary>
public sealed class PadRule : IGradientRule
{
    public IReadOnlyList<string> OpTypes { get; } = ["Pad"];

    public void Backward(NodeProto node, GradientContext c)
    {
        var x = node.Input[0];
        var rank = c.Rank(x);
        var mode = node.String("mode", "constant");
        var axes = PaddedAxes(node, c, rank);
        var pads = c.ConstantValue(node.Input[1]) is { } constant ? Tensors.ToInt64s(constant) : null;
        var gradient = c.OutputGradient(node)!;
        var dX = mode == "constant" && node.InputOrEmpty(3).Length == 0 && (pads is null || pads.All(p => p >= 0))
            ? Crop(node, c, x, gradient, rank)
            : Transposed(node, c, gradient, axes, pads, mode);
        c.Accumulate(x, dX);

        // A constant value computed from the image gets what fell on the padding.
        var value = node.InputOrEmpty(2);
        if (mode == "constant" && c.IsActive(value))
        {
            var padding = c.Sub(c.ReduceSum(gradient, [], keepDims: false), c.ReduceSum(dX, [], keepDims: false));
            c.Accumulate(value, c.Emit("Reshape", [padding, c.Shape(value)]));
        }
    }

    private static string Crop(NodeProto node, GradientContext c, string x, string gradient, int rank)
    {
        var begin = c.Emit("Slice", [node.Input[1], c.Ints(0), c.Ints(rank), c.Ints(0)]);
        var end = c.Add(begin, c.Shape(x));
        return c.Emit("Slice", [gradient, begin, end, c.Ints([.. Enumerable.Range(0, rank).Select(i => (long)i)])]);
    }

    private static string Transposed(NodeProto node, GradientContext c, string gradient, long[] axes, long[]? pads, string mode)
    {
        for (var j = 0; j < axes.Length; j++)
        {
            if (pads is not null && pads[j] == 0 && pads[axes.Length + j] == 0)
            {
                continue;
            }

            var axis = (int)axes[j];
            var n = c.Dims(node.Input[0], axis, axis + 1);
            var square = c.Emit("ConstantOfShape", [c.Emit("Concat", [n, n], NodeAttributes.IntAttribute("axis", 0))],
                NodeAttributes.TensorAttribute("value", Tensors.OfType(c.ElementType, "one", [1], [1])));
            var zero = c.Ints(0);
            var rows = c.Emit("Concat", [c.Emit("Slice", [node.Input[1], c.Ints(j), c.Ints(j + 1), zero]), zero,
                c.Emit("Slice", [node.Input[1], c.Ints(axes.Length + j), c.Ints(axes.Length + j + 1), zero]), zero], NodeAttributes.IntAttribute("axis", 0));
            var matrix = c.Emit("Pad", [c.Emit("EyeLike", [square]), rows], NodeAttributes.StringAttribute("mode", mode));
            gradient = AlongAxis(c, gradient, axis, c.Rank(node.Input[0]), matrix);
        }

        return gradient;
    }

    /// <summary>Multiplies axis <paramref name="axis"/> of <paramref name="tensor"/> by <paramref name="matrix"/> ([in, out]).</summary>
    private static string AlongAxis(GradientContext c, string tensor, int axis, int rank, string matrix)
    {
        if (axis == rank - 1)
        {
            return c.Emit("MatMul", [tensor, matrix]);
        }

        var perm = Enumerable.Range(0, rank).Select(i => (long)i).ToArray();
        (perm[axis], perm[rank - 1]) = (perm[rank - 1], perm[axis]);
        var swapped = c.Emit("Transpose", [tensor], NodeAttributes.IntsAttribute("perm", perm));
        return c.Emit("Transpose", [c.Emit("MatMul", [swapped, matrix])], NodeAttributes.IntsAttribute("perm", perm));
    }

    private static long[] PaddedAxes(NodeProto node, GradientContext c, int rank)
    {
        var input = node.InputOrEmpty(3);
        if (input.Length == 0)
        {
            return [.. Enumerable.Range(0, rank).Select(i => (long)i)];
        }

        return c.ConstantValue(input) is { } axes
            ? [.. Tensors.ToInt64s(axes).Select(a => a < 0 ? a + rank : a)]
            : throw new ModelFormatException($"Pad node '{node.Name}' pads axes computed at run time; only constant axes have a gradient rule.");
    }
}
