using Microscope.Onnx.Proto;

namespace Microscope.Onnx.Gradients.Rules;

/// <summary>Kernel, strides and dilations of a Conv or pool node, with ONNX's defaults.</summary>
internal readonly record struct Window(long[] Kernel, long[] Strides, long[] Dilations)
{
    public int Spatial => Kernel.Length;

    public static Window Of(NodeProto node, long[] kernel) => new(
        kernel,
        node.Ints("strides") ?? [.. kernel.Select(_ => 1L)],
        node.Ints("dilations") ?? [.. kernel.Select(_ => 1L)]);

    /// <summary>output_padding for a ConvTranspose that undoes this window with every row kept: stride − 1.</summary>
    public long[] FullOutputPadding => [.. Strides.Select(s => s - 1)];
}

/// <summary>
/// Conv: dX is the transposed convolution of dY with the same weights (ConvTranspose with no padding
/// and output_padding = stride − 1, so that no row is lost), cropped to X from the begin padding;
/// for stride 1 and constant weights, the same as a full convolution with the flipped kernel.
/// The crop is computed at run time, so any input size works, auto_pad included. Groups (depthwise
/// too), strides, dilations and asymmetric pads all follow from the same two ops.
/// </summary>
public sealed class ConvRule : IGradientRule
{
    public IReadOnlyList<string> OpTypes { get; } = ["Conv"];

    public void Backward(NodeProto node, GradientContext c)
    {
        var (x, w) = (node.Input[0], node.Input[1]);
        if (c.IsActive(w) || (node.Input.Count > 2 && c.IsActive(node.Input[2])))
        {
            throw new ModelFormatException($"Conv node '{node.Name}' has weights computed from the image; only constant weights are supported.");
        }

        var weightShape = c.ReferenceShape(w);
        var window = Window.Of(node, node.Ints("kernel_shape") ?? weightShape[2..]);
        var group = node.Int("group", 1);
        var begin = c.BeginPads(node, x, window.Kernel, window.Strides, window.Dilations);
        if (window.Strides.All(s => s == 1) && c.ConstantValue(w) is { } constant)
        {
            // Stride 1 with constant weights: the transposed convolution is a plain convolution with the
            // kernel flipped and its channel axes swapped, which ONNX Runtime runs much faster.
            var flipped = c.Constant(FlippedWeightShape(weightShape, group), FlipTranspose(Tensors.ToDoubles(constant), weightShape, group));
            var reach = window.Kernel.Select((k, i) => (k - 1) * window.Dilations[i]).ToArray();
            var full = c.Emit("Conv", [c.OutputGradient(node)!, flipped],
                NodeAttributes.IntsAttribute("dilations", window.Dilations),
                NodeAttributes.IntsAttribute("pads", [.. reach, .. reach]),
                NodeAttributes.IntAttribute("group", group));
            c.Accumulate(x, c.CropSpatial(full, begin, x, window.Spatial));
            return;
        }

        var transposed = c.Emit("ConvTranspose", [c.OutputGradient(node)!, w],
            NodeAttributes.IntsAttribute("strides", window.Strides),
            NodeAttributes.IntsAttribute("dilations", window.Dilations),
            NodeAttributes.IntsAttribute("output_padding", window.FullOutputPadding),
            NodeAttributes.IntAttribute("group", group));
        c.Accumulate(x, c.CropSpatial(transposed, begin, x, window.Spatial));
    }

    /// <summary>[M, C/g, k…] → [C, M/g, k…].</summary>
    private static long[] FlippedWeightShape(long[] shape, long group) => [shape[1] * group, shape[0] / group, .. shape[2..]];

    /// <summary>W'[g·C/g + c, m, k] = W[g·M/g + m, c, K − 1 − k]: swap the channel axes within each group and flip the kernel.</summary>
    private static double[] FlipTranspose(double[] weights, long[] shape, long group)
    {
        var (outChannels, inPerGroup) = (shape[0], shape[1]);
        var outPerGroup = outChannels / group;
        var kernel = (int)shape[2..].Aggregate(1L, (a, b) => a * b);
        var result = new double[weights.Length];
        for (var g = 0L; g < group; g++)
        {
            for (var m = 0L; m < outPerGroup; m++)
            {
                for (var ci = 0L; ci < inPerGroup; ci++)
                {
                    var source = (((g * outPerGroup) + m) * inPerGroup + ci) * kernel;
                    var target = (((g * inPerGroup) + ci) * outPerGroup + m) * kernel;
                    for (var k = 0; k < kernel; k++)
                    {
                        result[target + k] = weights[source + kernel - 1 - k];
                    }
                }
            }
        }

        return result;
    }
}

/// <summary>
/// ConvTranspose: dX is the convolution of dY with the same weights, strides, dilations and group,
/// padded by the transposed convolution's effective pads (read from the node, or derived from the
/// measured shapes when auto_pad or output_shape set them).
/// </summary>
public sealed class ConvTransposeRule : IGradientRule
{
    public IReadOnlyList<string> OpTypes { get; } = ["ConvTranspose"];

    public void Backward(NodeProto node, GradientContext c)
    {
        var (x, w) = (node.Input[0], node.Input[1]);
        var weightShape = c.ReferenceShape(w);
        var window = Window.Of(node, node.Ints("kernel_shape") ?? weightShape[2..]);
        var spatial = window.Spatial;
        var pads = node.Ints("pads");
        if (pads is null || node.Has("output_shape") || node.String("auto_pad", "NOTSET") != "NOTSET")
        {
            var inShape = c.ReferenceShape(x);
            var outShape = c.ReferenceShape(node.Output[0]);
            var outputPadding = node.Ints("output_padding") ?? new long[spatial];
            pads = new long[spatial * 2];
            for (var i = 0; i < spatial; i++)
            {
                var total = (window.Strides[i] * (inShape[i + 2] - 1)) + outputPadding[i] + ((window.Kernel[i] - 1) * window.Dilations[i]) + 1 - outShape[i + 2];
                var lower = node.String("auto_pad", "NOTSET") == "SAME_LOWER";
                pads[i] = lower ? total - (total / 2) : total / 2;
                pads[i + spatial] = total - pads[i];
            }
        }

        c.Accumulate(x, c.Emit("Conv", [c.OutputGradient(node)!, w],
            NodeAttributes.IntsAttribute("strides", window.Strides),
            NodeAttributes.IntsAttribute("dilations", window.Dilations),
            NodeAttributes.IntsAttribute("pads", pads),
            NodeAttributes.IntAttribute("group", node.Int("group", 1))));
    }
}
