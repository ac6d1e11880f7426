using Microscope.Onnx;
using Microscope.Optvis.Transforms;
using DataType = Microscope.Onnx.Proto.TensorProto.Types.DataType;

namespace Microscope.Optvis.Resident;

/// <summary>
/// The transform stages of the resident step as graph nodes, each with its adjoint: a stage returns
/// its output and a function that maps the gradient of that output to the gradient of its input.
/// The host loop's transforms (Microscope.Optvis.Transforms) compute the same maps on the CPU.
/// </summary>
internal static class ResidentStages
{
    /// <summary>Constant padding; its adjoint crops the padding away.</summary>
    public static (string Output, Func<string, string> Adjoint) Pad(GraphEmitter g, string x, PadStage pad)
    {
        long p = pad.Pixels;
        var output = g.Node("Pad", [x, g.Ints(0, 0, p, p, 0, 0, p, p), g.FloatScalar(pad.Value)], NodeAttributes.StringAttribute("mode", "constant"));
        return (output, dy => p == 0 ? dy : g.Node("Slice", [dy, g.Ints(p, p), g.Ints(-p, -p), g.Ints(2, 3)]));
    }

    /// <summary>A crop from fed bounds; its adjoint pads the gradient back with zeros by fed amounts.</summary>
    public static (string Output, Func<string, string> Adjoint) Crop(GraphEmitter g, string x, int stage)
    {
        var output = g.Node("Slice", [x, ResidentNames.CropStart(stage), ResidentNames.CropEnd(stage), g.Ints(2, 3)]);
        return (output, dy => g.Node("Pad", [dy, ResidentNames.CropPads(stage)], NodeAttributes.StringAttribute("mode", "constant")));
    }

    /// <summary>
    /// Bilinear resampling through a fed affine map to a fed size, as the host's <see cref="Bilinear"/>
    /// computes it: each output pixel gathers its four neighbours (weight 0 outside the input), and the
    /// adjoint scatter-adds the gradient back with the same indices and weights.
    /// </summary>
    public static (string Output, Func<string, string> Adjoint) Resample(GraphEmitter g, string x, int stage)
    {
        var affine = ResidentNames.Affine(stage);
        var size = ResidentNames.Size(stage);
        var shape = g.Node("Shape", [x]);
        var batchChannels = g.Node("Slice", [shape, g.Ints(0), g.Ints(2)]);
        var inHeight = g.Node("Slice", [shape, g.Ints(2), g.Ints(3)]);
        var inWidth = g.Node("Slice", [shape, g.Ints(3), g.Ints(4)]);
        var lastRow = g.Node("Sub", [g.Node("Cast", [inHeight], NodeAttributes.IntAttribute("to", (long)DataType.Float)), g.FloatScalar(1)]);
        var lastColumn = g.Node("Sub", [g.Node("Cast", [inWidth], NodeAttributes.IntAttribute("to", (long)DataType.Float)), g.FloatScalar(1)]);
        var widthF = g.Node("Add", [lastColumn, g.FloatScalar(1)]);

        // Pixel centres of the output, mapped into the input, less half a pixel (the host's convention).
        string Centres(int axis)
        {
            var count = g.Node("Gather", [size, g.IntScalar(axis)]);
            var range = g.Node("Range", [g.IntScalar(0), count, g.IntScalar(1)]);
            return g.Node("Add", [g.Node("Cast", [range], NodeAttributes.IntAttribute("to", (long)DataType.Float)), g.FloatScalar(0.5)]);
        }

        var ys = g.Node("Unsqueeze", [Centres(0), g.Ints(1)]);
        var xs = g.Node("Unsqueeze", [Centres(1), g.Ints(0)]);
        string Coefficient(int k) => g.Node("Gather", [affine, g.IntScalar(k)]);
        string Map(int first) => g.Node("Add",
        [
            g.Node("Add", [g.Mul(xs, Coefficient(first)), g.Mul(ys, Coefficient(first + 1))]),
            g.Node("Sub", [Coefficient(first + 2), g.FloatScalar(0.5)]),
        ]);
        var sx = Map(0);
        var sy = Map(3);
        var x0 = g.Node("Floor", [sx]);
        var y0 = g.Node("Floor", [sy]);
        var fx = g.Node("Sub", [sx, x0]);
        var fy = g.Node("Sub", [sy, y0]);
        var gx = g.Node("Sub", [g.FloatScalar(1), fx]);
        var gy = g.Node("Sub", [g.FloatScalar(1), fy]);
        var x1 = g.Node("Add", [x0, g.FloatScalar(1)]);
        var y1 = g.Node("Add", [y0, g.FloatScalar(1)]);
        var zero = g.FloatScalar(0);
        string Inside(string value, string last) => g.Node("And", [g.Node("GreaterOrEqual", [value, zero]), g.Node("LessOrEqual", [value, last])]);
        string Clamp(string value, string last) => g.Node("Max", [g.Node("Min", [value, last]), zero]);

        var weights = new List<string>();
        var indices = new List<string>();
        foreach (var (cx, cy, w) in new[] { (x0, y0, g.Mul(gx, gy)), (x1, y0, g.Mul(fx, gy)), (x0, y1, g.Mul(gx, fy)), (x1, y1, g.Mul(fx, fy)) })
        {
            var inside = g.Node("Cast", [g.Node("And", [Inside(cx, lastColumn), Inside(cy, lastRow)])], NodeAttributes.IntAttribute("to", (long)DataType.Float));
            weights.Add(g.Node("Reshape", [g.Mul(w, inside), g.Ints(-1)]));
            var flat = g.Node("Add", [g.Mul(Clamp(cy, lastRow), widthF), Clamp(cx, lastColumn)]);
            indices.Add(g.Node("Reshape", [g.Node("Cast", [flat], NodeAttributes.IntAttribute("to", (long)DataType.Int64)), g.Ints(-1)]));
        }

        // Indices and weights are the same for every image and channel (4 taps × output pixels): the
        // forward gathers along the flattened pixels with them as they are, so nothing per image but
        // the gathered values lives on; the adjoint expands the indices only while it scatters.
        var weight = g.Node("Concat", [.. weights], NodeAttributes.IntAttribute("axis", 0));
        var index = g.Node("Concat", [.. indices], NodeAttributes.IntAttribute("axis", 0));
        var flatInput = g.Node("Reshape", [x, g.Ints(0, 0, -1)]);
        var gathered = g.Mul(g.Node("Gather", [flatInput, index], NodeAttributes.IntAttribute("axis", 2)), weight);
        var summed = g.Node("ReduceSum", [g.Node("Reshape", [gathered, g.Ints(0, 0, 4, -1)]), g.Ints(2)], NodeAttributes.IntAttribute("keepdims", 0));
        var output = g.Node("Reshape", [summed, g.Node("Concat", [batchChannels, size], NodeAttributes.IntAttribute("axis", 0))]);

        return (output, dy =>
        {
            var flat = g.Node("Reshape", [dy, g.Ints(0, 0, -1)]);
            var updates = g.Mul(g.Node("Concat", [flat, flat, flat, flat], NodeAttributes.IntAttribute("axis", 2)), weight);
            var expanded = g.Node("Expand", [index, g.Node("Shape", [updates])]);
            var zerosShape = g.Node("Concat", [batchChannels, g.Node("Mul", [inHeight, inWidth])], NodeAttributes.IntAttribute("axis", 0));
            var zeros = g.Node("ConstantOfShape", [zerosShape], NodeAttributes.TensorAttribute("value", Tensors.Float("zero", [1], [0f])));
            var scattered = g.Node("ScatterElements", [zeros, expanded, updates], NodeAttributes.IntAttribute("axis", 2), NodeAttributes.StringAttribute("reduction", "add"));
            return g.Node("Reshape", [scattered, shape]);
        });
    }
}
