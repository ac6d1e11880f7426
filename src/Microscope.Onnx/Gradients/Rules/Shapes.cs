using Microscope.Onnx.Proto;

namespace Microscope.Onnx.Gradients.Rules;

/// <summary>Reshape, Flatten, Squeeze, Unsqueeze: dX = dY reshaped to X's shape.</summary>
public sealed class ReshapeLikeRule : IGradientRule
{
    public IReadOnlyList<string> OpTypes { get; } = ["Reshape", "Flatten", "Squeeze", "Unsqueeze"];

    public void Backward(NodeProto node, GradientContext c) =>
        c.Accumulate(node.Input[0], c.Emit("Reshape", [c.OutputGradient(node)!, c.Shape(node.Input[0])]));
}

/// <summary>Transpose: dX = dY transposed by the inverse permutation.</summary>
public sealed class TransposeRule : IGradientRule
{
    public IReadOnlyList<string> OpTypes { get; } = ["Transpose"];

    public void Backward(NodeProto node, GradientContext c)
    {
        var rank = c.Rank(node.Input[0]);
        var perm = node.Ints("perm") ?? [.. Enumerable.Range(0, rank).Reverse().Select(i => (long)i)];
        var inverse = new long[rank];
        for (var i = 0; i < rank; i++)
        {
            inverse[perm[i]] = i;
        }

        c.Accumulate(node.Input[0], c.Emit("Transpose", [c.OutputGradient(node)!], NodeAttributes.IntsAttribute("perm", inverse)));
    }
}

/// <summary>Concat: dY is split back into the inputs' extents along the axis (sizes read at run time).</summary>
public sealed class ConcatRule : IGradientRule
{
    public IReadOnlyList<string> OpTypes { get; } = ["Concat"];

    public void Backward(NodeProto node, GradientContext c)
    {
        var rank = c.Rank(node.Output[0]);
        var axis = node.Int("axis", 0);
        axis = axis < 0 ? axis + rank : axis;
        var sizes = node.Input.Select(i => c.Dims(i, (int)axis, (int)axis + 1)).ToArray();
        var split = sizes.Length == 1 ? sizes[0] : c.Emit("Concat", sizes, NodeAttributes.IntAttribute("axis", 0));
        var parts = c.EmitMany("Split", [c.OutputGradient(node)!, split], node.Input.Count, NodeAttributes.IntAttribute("axis", axis));
        for (var i = 0; i < node.Input.Count; i++)
        {
            c.Accumulate(node.Input[i], parts[i]);
        }
    }
}

/// <summary>Split: dX is the concatenation of the outputs' gradients (zeros for outputs no gradient reached).</summary>
public sealed class SplitRule : IGradientRule
{
    public IReadOnlyList<string> OpTypes { get; } = ["Split"];

    public void Backward(NodeProto node, GradientContext c)
    {
        var rank = c.Rank(node.Input[0]);
        var axis = node.Int("axis", 0);
        axis = axis < 0 ? axis + rank : axis;
        var parts = node.Output.Select(o => c.GradientOf(o) ?? c.ZerosLike(o)).ToArray();
        c.Accumulate(node.Input[0], c.Emit("Concat", parts, NodeAttributes.IntAttribute("axis", axis)));
    }
}

/// <summary>
/// Slice (steps of 1): dX is dY padded with zeros back to X's shape; starts and ends are normalized
/// (negative, past the end) at run time as ONNX defines them.
/// </summary>
public sealed class SliceRule : IGradientRule
{
    public IReadOnlyList<string> OpTypes { get; } = ["Slice"];

    public void Backward(NodeProto node, GradientContext c)
    {
        var x = node.Input[0];
        var rank = c.Rank(x);
        if (c.ConstantValue(node.InputOrEmpty(4)) is { } steps && Tensors.ToInt64s(steps).Any(s => s != 1))
        {
            throw new ModelFormatException($"Slice node '{node.Name}' uses steps other than 1, which has no gradient rule yet.");
        }

        var axesInput = node.InputOrEmpty(3);
        var axes = axesInput.Length > 0
            ? c.Emit("Where", [c.Emit("Less", [axesInput, c.Ints(0)]), c.Add(axesInput, c.Ints(rank)), axesInput])
            : c.Emit("Slice", [c.Ints([.. Enumerable.Range(0, rank).Select(i => (long)i)]), c.Ints(0), c.Emit("Shape", [node.Input[1]]), c.Ints(0)]);
        var dims = c.Emit("Gather", [c.Shape(x), axes], NodeAttributes.IntAttribute("axis", 0));

        string Normalize(string bound)
        {
            var wrapped = c.Emit("Where", [c.Emit("Less", [bound, c.Ints(0)]), c.Add(bound, dims), bound]);
            return c.Emit("Max", [c.Emit("Min", [wrapped, dims]), c.Ints(0)]);
        }

        var begin = Normalize(node.Input[1]);
        var end = Normalize(node.Input[2]);
        var zeros = c.Ints(new long[rank]);
        var padBegin = c.Emit("ScatterElements", [zeros, axes, begin], NodeAttributes.IntAttribute("axis", 0));
        var padEnd = c.Emit("ScatterElements", [zeros, axes, c.Sub(dims, c.Emit("Max", [end, begin]))], NodeAttributes.IntAttribute("axis", 0));
        var pads = c.Emit("Concat", [padBegin, padEnd], NodeAttributes.IntAttribute("axis", 0));
        c.Accumulate(x, c.Emit("Pad", [c.OutputGradient(node)!, pads]));
    }
}

/// <summary>
/// Tile: every copy hands its gradient back. dY, [r₀·d₀, r₁·d₁, …], is viewed as [r₀, d₀, r₁, d₁, …]
/// (the copy index outside, the element inside) and summed over the copies.
/// </summary>
public sealed class TileRule : IGradientRule
{
    public IReadOnlyList<string> OpTypes { get; } = ["Tile"];

    public void Backward(NodeProto node, GradientContext c)
    {
        var x = node.Input[0];
        var rank = c.Rank(x);
        var repeats = node.Input[1];
        var view = Enumerable.Range(0, rank)
            .SelectMany(i => new[] { c.Emit("Slice", [repeats, c.Ints(i), c.Ints(i + 1), c.Ints(0)]), c.Dims(x, i, i + 1) })
            .ToArray();
        var tiles = c.Emit("Reshape", [c.OutputGradient(node)!, c.Emit("Concat", view, NodeAttributes.IntAttribute("axis", 0))]);
        c.Accumulate(x, c.ReduceSum(tiles, [.. Enumerable.Range(0, rank).Select(i => 2L * i)], keepDims: false));
    }
}

/// <summary>
/// Resize along the spatial axes is separable and linear: Y = R_h · X · R_wᵀ per channel, whatever
/// the mode and coordinate transformation. The exact adjoint dX = R_hᵀ · dY · R_w is built by
/// resizing identity matrices with the same node settings (so R is exactly the op's own), then two
/// MatMuls. Sizes are read at run time.
/// </summary>
public sealed class ResizeRule : IGradientRule
{
    public IReadOnlyList<string> OpTypes { get; } = ["Resize"];

    public void Backward(NodeProto node, GradientContext c)
    {
        var x = node.Input[0];
        var y = node.Output[0];
        var inShape = c.ReferenceShape(x);
        var outShape = c.ReferenceShape(y);
        if (inShape.Length != 4 || inShape[0] != outShape[0] || inShape[1] != outShape[1])
        {
            throw new ModelFormatException($"Resize node '{node.Name}' resizes other than the two spatial axes of an N×C×H×W tensor; no gradient rule for that yet.");
        }

        if (node.String("coordinate_transformation_mode", "half_pixel") == "tf_crop_and_resize" || node.Has("axes"))
        {
            throw new ModelFormatException($"Resize node '{node.Name}' crops (tf_crop_and_resize) or names axes; no gradient rule for that yet.");
        }

        var rowsT = ResizeMatrixTransposed(node, c, x, y, axis: 2);
        var colsT = ResizeMatrixTransposed(node, c, x, y, axis: 3);
        var cols = c.Emit("Transpose", [colsT], NodeAttributes.IntsAttribute("perm", 1, 0));
        var left = c.Emit("MatMul", [rowsT, c.OutputGradient(node)!]);
        c.Accumulate(x, c.Emit("MatMul", [left, cols]));
    }

    /// <summary>Rᵀ for one axis, [in, out]: the node applied to the columns of an identity matrix.</summary>
    private static string ResizeMatrixTransposed(NodeProto node, GradientContext c, string x, string y, int axis)
    {
        var n = c.Dims(x, axis, axis + 1);
        var square = c.Emit("ConstantOfShape", [c.Emit("Concat", [n, n], NodeAttributes.IntAttribute("axis", 0))],
            NodeAttributes.TensorAttribute("value", Tensors.OfType(c.ElementType, "one", [1], [1])));
        var identity = c.Emit("EyeLike", [square]);
        var one = c.Ints(1);
        var viewShape = axis == 2
            ? c.Emit("Concat", [n, one, n, one], NodeAttributes.IntAttribute("axis", 0))
            : c.Emit("Concat", [n, one, one, n], NodeAttributes.IntAttribute("axis", 0));
        var view = c.Emit("Reshape", [identity, viewShape]);

        var scalesInput = node.InputOrEmpty(2);
        var sizesInput = node.InputOrEmpty(3);
        string[] inputs;
        if (sizesInput.Length > 0)
        {
            var outSize = c.Dims(y, axis, axis + 1);
            var sizes = axis == 2
                ? c.Emit("Concat", [n, one, outSize, one], NodeAttributes.IntAttribute("axis", 0))
                : c.Emit("Concat", [n, one, one, outSize], NodeAttributes.IntAttribute("axis", 0));
            inputs = [view, "", "", sizes];
        }
        else
        {
            var scale = c.Emit("Slice", [scalesInput, c.Ints(axis), c.Ints(axis + 1), c.Ints(0)]);
            var unitOnes = c.Floats(1);
            var scales = axis == 2
                ? c.Emit("Concat", [unitOnes, unitOnes, scale, unitOnes], NodeAttributes.IntAttribute("axis", 0))
                : c.Emit("Concat", [unitOnes, unitOnes, unitOnes, scale], NodeAttributes.IntAttribute("axis", 0));
            inputs = [view, "", scales];
        }

        var resized = c.Emit("Resize", inputs, [.. node.Attribute.Select(a => a.Clone())]);
        return c.Emit("Reshape", [resized, c.Ints(0, -1)]);
    }
}
