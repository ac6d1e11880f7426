using Microscope.Onnx.Proto;
using DataType = Microscope.Onnx.Proto.TensorProto.Types.DataType;

namespace Microscope.Onnx.Gradients.Rules;

/// <summary>
/// Gather along any axis, with indices of any rank (a scalar too) and negative indices counted from
/// the end: dX is zeros with dY added back at the gathered positions. dY is viewed as X's shape with
/// the gathered axis replaced by the flattened indices, the indices are broadcast over that view, and
/// ScatterElements with reduction "add" sums the shares of an index gathered more than once. The
/// indices carry no gradient; a Gather whose data is a constant (a lookup table) is not on the image's
/// path at all and never reaches this rule.
/// </summary>
public sealed class GatherRule : IGradientRule
{
    public IReadOnlyList<string> OpTypes { get; } = ["Gather"];

    public void Backward(NodeProto node, GradientContext c)
    {
        var x = node.Input[0];
        if (!c.IsActive(x))
        {
            return;
        }

        var (rank, axis, indices) = Indices.Of(node, c);
        var view = new List<string>();
        if (axis > 0)
        {
            view.Add(c.Dims(x, 0, axis));
        }

        view.Add(c.Ints(-1));
        if (axis < rank - 1)
        {
            view.Add(c.Dims(x, axis + 1, rank));
        }

        var gradient = c.Emit("Reshape", [c.OutputGradient(node)!, c.Emit("Concat", [.. view], NodeAttributes.IntAttribute("axis", 0))]);
        long[] line = [.. Enumerable.Range(0, rank).Select(i => i == axis ? -1L : 1L)];
        var spread = c.Emit("Expand", [c.Emit("Reshape", [indices, c.Ints(line)]), c.Shape(gradient)]);
        c.Accumulate(x, Indices.ScatterAdd(c, x, spread, gradient, axis));
    }
}

/// <summary>GatherElements: dX is zeros with dY added at the indices along the axis (repeated indices add up).</summary>
public sealed class GatherElementsRule : IGradientRule
{
    public IReadOnlyList<string> OpTypes { get; } = ["GatherElements"];

    public void Backward(NodeProto node, GradientContext c)
    {
        var x = node.Input[0];
        if (c.IsActive(x))
        {
            var (_, axis, indices) = Indices.Of(node, c);
            c.Accumulate(x, Indices.ScatterAdd(c, x, indices, c.OutputGradient(node)!, axis));
        }
    }
}

/// <summary>What the indexing rules share.</summary>
internal static class Indices
{
    /// <summary>The data's rank, the axis (non-negative) and the indices as int64 with negative ones counted back from the axis' extent.</summary>
    public static (int Rank, int Axis, string Indices) Of(NodeProto node, GradientContext c)
    {
        var x = node.Input[0];
        var rank = c.Rank(x);
        var axis = (int)node.Int("axis", 0);
        axis = axis < 0 ? axis + rank : axis;
        var wide = c.Cast(node.Input[1], DataType.Int64);
        return (rank, axis, c.Emit("Where", [c.Emit("Less", [wide, c.Ints(0)]), c.Add(wide, c.Dims(x, axis, axis + 1)), wide]));
    }

    /// <summary>Zeros shaped like <paramref name="like"/> with <paramref name="updates"/> added at <paramref name="indices"/> along the axis.</summary>
    public static string ScatterAdd(GradientContext c, string like, string indices, string updates, int axis) =>
        c.Emit("ScatterElements", [c.ZerosLike(like), indices, updates],
            NodeAttributes.IntAttribute("axis", axis), NodeAttributes.StringAttribute("reduction", "add"));
}
