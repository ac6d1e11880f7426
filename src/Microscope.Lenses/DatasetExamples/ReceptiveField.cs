using Microscope.Onnx;
using Microscope.Onnx.Proto;

namespace Microscope.Lenses.DatasetExamples;

/// <summary>
/// Where a unit at position (x, y) of a layer looks in the input image: a square of
/// <see cref="Size"/> pixels centred at <see cref="Offset"/> + (x, y)·<see cref="Jump"/>.
/// </summary>
public sealed record ReceptiveField(double Size, double Jump, double Offset)
{
    public static readonly ReceptiveField Pixel = new(1, 1, 0.5);

    /// <summary>
    /// True after attention (a product of two tensors that both depend on the image): every token
    /// then sees the whole image, and the field says so rather than pretend to be its patch.
    /// </summary>
    public bool WholeImage { get; init; }

    /// <summary>What the field is, in words: "a 16×16 px window" or "the whole image (after attention)".</summary>
    public string Describe() => WholeImage ? "the whole image (after attention)" : $"a {Math.Round(Size)}×{Math.Round(Size)} px window";

    /// <summary>The square the unit sees, clipped to an image of <paramref name="size"/>² pixels: (left, top, side).</summary>
    public (int Left, int Top, int Side) Window(int x, int y, int size)
    {
        var side = (int)Math.Clamp(Math.Round(Size), 1, size);
        var cx = Offset + (x * Jump);
        var cy = Offset + (y * Jump);
        var left = (int)Math.Clamp(Math.Round(cx - (side / 2.0)), 0, size - side);
        var top = (int)Math.Clamp(Math.Round(cy - (side / 2.0)), 0, size - side);
        return (left, top, side);
    }

    /// <summary>
    /// Computed from the graph (Araujo et al., 2019): through a window op of kernel k, stride s,
    /// dilation d and begin pad p, size grows by (k − 1)·d·jump, the jump multiplies by s and the
    /// centre moves by ((k − 1)·d/2 − p)·jump. Where paths join, the widest field wins. Element-wise
    /// ops keep the field; a resize divides the jump by its scale; attention (MatMul of two
    /// image-dependent tensors) widens it to the whole image, and positions keep their patch's jump.
    /// </summary>
    public static ReceptiveField Of(OnnxGraph graph, string tensor, int inputSize)
    {
        var fields = new Dictionary<string, ReceptiveField>(StringComparer.Ordinal) { [VisionGraph.ImageInput] = Pixel };
        foreach (var node in graph.Ancestors([tensor]))
        {
            var inputs = node.Input.Where(fields.ContainsKey).Select(i => fields[i]).ToList();
            if (inputs.Count == 0)
            {
                continue;
            }

            var widest = inputs.MaxBy(f => f.Size)!;
            var field = node.OpType switch
            {
                "Conv" or "MaxPool" or "AveragePool" or "LpPool" => Through(node, widest, graph),
                "ConvTranspose" => widest with { Jump = widest.Jump / (node.Ints("strides")?.FirstOrDefault() ?? 1) },
                "GlobalAveragePool" or "GlobalMaxPool" => new ReceptiveField(inputSize, inputSize, inputSize / 2.0),
                "MatMul" or "Einsum" or "Gemm" when inputs.Count > 1 => widest with { Size = inputSize, WholeImage = true },
                "Resize" or "Upsample" => widest with { Jump = widest.Jump / ResizeScale(node, graph) },
                _ => widest,
            };
            foreach (var output in node.Output)
            {
                fields[output] = field;
            }
        }

        return fields.GetValueOrDefault(tensor, Pixel);
    }

    private static ReceptiveField Through(NodeProto node, ReceptiveField input, OnnxGraph graph)
    {
        var kernel = node.Ints("kernel_shape")?[0]
            ?? (graph.ConstantValue(node.InputOrEmpty(1)) is { } w ? w.Dims[2] : 1);
        var stride = node.Ints("strides")?[0] ?? 1;
        var dilation = node.Ints("dilations")?[0] ?? 1;
        var pad = node.Ints("pads")?[0] ?? (node.String("auto_pad", "NOTSET") is "SAME_UPPER" or "SAME_LOWER" ? (kernel - 1) * dilation / 2 : 0);
        return new ReceptiveField(
            input.Size + ((kernel - 1) * dilation * input.Jump),
            input.Jump * stride,
            input.Offset + ((((kernel - 1) * dilation / 2.0) - pad) * input.Jump));
    }

    private static double ResizeScale(NodeProto node, OnnxGraph graph)
    {
        var scales = graph.ConstantValue(node.InputOrEmpty(2)) is { } t ? Tensors.ToDoubles(t) : [];
        return scales.Length >= 4 && scales[3] > 0 ? scales[3] : 2;
    }
}
