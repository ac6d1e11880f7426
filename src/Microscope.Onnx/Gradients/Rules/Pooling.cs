using Microscope.Onnx.Proto;

namespace Microscope.Onnx.Gradients.Rules;

/// <summary>GlobalAveragePool: dX = dY spread evenly over the positions (dY / (H·W) at every position).</summary>
public sealed class GlobalAveragePoolRule : IGradientRule
{
    public IReadOnlyList<string> OpTypes { get; } = ["GlobalAveragePool"];

    public void Backward(NodeProto node, GradientContext c)
    {
        var x = node.Input[0];
        var rank = c.Rank(x);
        var count = c.Cast(c.Emit("ReduceProd", [c.Dims(x, 2, rank)], NodeAttributes.IntAttribute("keepdims", 0)), c.ElementType);
        c.Accumulate(x, c.Emit("Expand", [c.Div(c.OutputGradient(node)!, count), c.Shape(x)]));
    }
}

/// <summary>GlobalMaxPool: dY goes to the positions that attain each channel's maximum, shared among ties (Selection.cs).</summary>
public sealed class GlobalMaxPoolRule : IGradientRule
{
    public IReadOnlyList<string> OpTypes { get; } = ["GlobalMaxPool"];

    public void Backward(NodeProto node, GradientContext c)
    {
        var x = node.Input[0];
        long[] positions = [.. Enumerable.Range(2, c.Rank(x) - 2).Select(i => (long)i)];
        c.Accumulate(x, Extremum.Share(c, x, node.Output[0], c.OutputGradient(node)!, positions));
    }
}

/// <summary>
/// AveragePool: each window hands dY / (its element count) to every element it covers: a grouped
/// transposed convolution with a kernel of ones, cropped like <see cref="ConvRule"/>. With
/// count_include_pad = 0 the count of each window is measured by a grouped convolution of ones.
/// </summary>
public sealed class AveragePoolRule : IGradientRule
{
    public IReadOnlyList<string> OpTypes { get; } = ["AveragePool"];

    public void Backward(NodeProto node, GradientContext c)
    {
        var x = node.Input[0];
        var y = node.Output[0];
        var channels = c.ReferenceShape(x)[1];
        var window = Window.Of(node, node.Ints("kernel_shape")!);
        var spatial = window.Spatial;
        var ones = c.Constant([channels, 1, .. window.Kernel], [.. Enumerable.Repeat(1.0, (int)(channels * window.Kernel.Aggregate(1L, (a, b) => a * b)))]);
        var poolPads = node.Ints("pads") ?? new long[spatial * 2];
        var autoPad = node.String("auto_pad", "NOTSET");
        var same = autoPad is "SAME_UPPER" or "SAME_LOWER";
        var countIncludesPad = node.Int("count_include_pad", 0) == 1;
        string count;
        if (countIncludesPad && (node.Int("ceil_mode", 0) == 0 || same))
        {
            // Every window lies within the padded extent (auto_pad SAME fits it whatever ceil_mode says).
            count = c.Scalar(window.Kernel.Aggregate(1L, (a, b) => a * b));
        }
        else
        {
            // Windows counted over real elements only (or, with count_include_pad, over the padded
            // extent, as ONNX Runtime does); ceil_mode windows reach past the end pad, and what lies
            // beyond it is never counted.
            var extra = node.Int("ceil_mode", 0) == 1 ? window.Strides.Select(s => s - 1).ToArray() : new long[spatial];
            var area = c.OnesLike(x);
            var attributes = new List<AttributeProto>
            {
                NodeAttributes.IntsAttribute("strides", window.Strides),
                NodeAttributes.IntsAttribute("dilations", window.Dilations),
                NodeAttributes.IntAttribute("group", channels),
            };
            if (same)
            {
                attributes.Add(NodeAttributes.StringAttribute("auto_pad", autoPad));
            }
            else if (countIncludesPad)
            {
                area = c.Emit("Pad", [area, c.Ints([0, 0, .. poolPads[..spatial], 0, 0, .. poolPads[spatial..]]), c.Scalar(1)]);
                attributes.Add(NodeAttributes.IntsAttribute("pads", [.. new long[spatial], .. extra]));
            }
            else
            {
                attributes.Add(NodeAttributes.IntsAttribute("pads", [.. poolPads[..spatial], .. poolPads[spatial..].Select((p, i) => p + extra[i])]));
            }

            var counts = c.Emit("Conv", [area, ones], [.. attributes]);
            count = c.Emit("Slice", [counts, c.Ints(new long[spatial]), c.Dims(y, 2, 2 + spatial), c.Ints([.. Enumerable.Range(2, spatial).Select(i => (long)i)])]);
        }

        var share = c.Div(c.OutputGradient(node)!, count);
        var spread = c.Emit("ConvTranspose", [share, ones],
            NodeAttributes.IntsAttribute("strides", window.Strides),
            NodeAttributes.IntsAttribute("dilations", window.Dilations),
            NodeAttributes.IntsAttribute("output_padding", window.FullOutputPadding),
            NodeAttributes.IntAttribute("group", channels));
        var begin = c.BeginPads(node, x, window.Kernel, window.Strides, window.Dilations);
        c.Accumulate(x, c.CropSpatial(spread, begin, x, spatial));
    }
}

/// <summary>
/// MaxPool: the gradient of each window goes to the element that won it, as ONNX Runtime chose it
/// (its Indices output: the first maximum on ties). Overlapping windows add up (ScatterElements with
/// reduction "add"). The forward node is given its Indices output before the graph is measured.
/// </summary>
public sealed class MaxPoolRule : IGradientRule
{
    public IReadOnlyList<string> OpTypes { get; } = ["MaxPool"];

    public void PrepareForward(NodeProto node, Func<string, string> freshName)
    {
        if (node.Output.Count < 2 || node.Output[1].Length == 0)
        {
            if (node.Output.Count < 2)
            {
                node.Output.Add(freshName("maxpool_indices"));
            }
            else
            {
                node.Output[1] = freshName("maxpool_indices");
            }
        }

        // Indices must be row-major (storage_order 0) for the scatter below.
        node.Remove("storage_order");
    }

    public void Backward(NodeProto node, GradientContext c)
    {
        var x = node.Input[0];
        var flatIndices = c.Emit("Reshape", [node.Output[1], c.Ints(-1)]);
        var flatGradient = c.Emit("Reshape", [c.OutputGradient(node)!, c.Ints(-1)]);
        var size = c.Emit("ReduceProd", [c.Shape(x)], NodeAttributes.IntAttribute("keepdims", 1));
        var zeros = c.Emit("ConstantOfShape", [size], NodeAttributes.TensorAttribute("value", Tensors.OfType(c.ElementType, "zero", [1], [0])));
        var scattered = c.Emit("ScatterElements", [zeros, flatIndices, flatGradient],
            NodeAttributes.IntAttribute("axis", 0), NodeAttributes.StringAttribute("reduction", "add"));
        c.Accumulate(x, c.Emit("Reshape", [scattered, c.Shape(x)]));
    }
}

/// <summary>
/// LRN, y = x / d^β with d = bias + α/size · Σ_window x²:
/// dX_j = dY_j · d_j^(−β) − (2αβ/size) · x_j · Σ_{c : j ∈ window(c)} dY_c · x_c · d_c^(−β−1).
/// The sums across channels are convolutions along the channel axis of a [N, 1, C, H·W] view.
/// </summary>
public sealed class LrnRule : IGradientRule
{
    public IReadOnlyList<string> OpTypes { get; } = ["LRN"];

    public void Backward(NodeProto node, GradientContext c)
    {
        var x = node.Input[0];
        var size = node.Int("size", 1);
        var alpha = node.Float("alpha", 1e-4f);
        var beta = node.Float("beta", 0.75f);
        var bias = node.Float("bias", 1f);
        var before = (size - 1) / 2;
        var after = size - 1 - before;
        var ones = c.Constant([1, 1, size, 1], [.. Enumerable.Repeat(1.0, (int)size)]);

        string ChannelWindowSum(string t, long padBefore, long padAfter)
        {
            var view = c.Emit("Reshape", [t, c.Ints(0, 1, c.ReferenceShape(x)[1], -1)]);
            var summed = c.Emit("Conv", [view, ones], NodeAttributes.IntsAttribute("pads", padBefore, 0, padAfter, 0));
            return c.Emit("Reshape", [summed, c.Shape(x)]);
        }

        var d = c.Add(c.Scalar(bias), c.Mul(c.Scalar(alpha / size), ChannelWindowSum(c.Mul(x, x), before, after)));
        var gradient = c.OutputGradient(node)!;
        var direct = c.Mul(gradient, c.Emit("Pow", [d, c.Scalar(-beta)]));
        var inner = c.Mul(c.Mul(gradient, x), c.Emit("Pow", [d, c.Scalar(-beta - 1)]));
        var back = ChannelWindowSum(inner, after, before);
        var coupling = c.Mul(c.Scalar(2 * alpha * beta / size), c.Mul(x, back));
        c.Accumulate(x, c.Sub(direct, coupling));
    }
}
