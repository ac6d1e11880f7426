using System.Text.Json.Serialization;

namespace Microscope.Onnx;

/// <summary>
/// How to feed a model an image. Renderers always hand the model RGB in [0, 1], N×3×H×W;
/// this spec says what the model wants instead, and <see cref="VisionGraph"/> applies it inside
/// the graph so that gradients flow through the preprocessing too.
/// </summary>
public sealed record InputSpec
{
    /// <summary>The model's image input; null means "the single 4-D float input".</summary>
    public string? Name { get; init; }

    /// <summary>NCHW (channels first) or NHWC (channels last).</summary>
    public string Layout { get; init; } = "NCHW";

    /// <summary>Height and width the model is usually run at (and the catalog is measured at).</summary>
    public int[] Size { get; init; } = [224, 224];

    /// <summary>RGB or BGR: the channel order the model (or its preprocessing model) expects.</summary>
    public string ColorOrder { get; init; } = "RGB";

    /// <summary>The value range of a pixel the model expects before mean/std: [0, 1] or [0, 255].</summary>
    public double[] Range { get; init; } = [0, 1];

    /// <summary>Per-channel mean subtracted after scaling to <see cref="Range"/> (in the model's channel order).</summary>
    public double[] Mean { get; init; } = [0, 0, 0];

    /// <summary>Per-channel divisor applied after the mean (in the model's channel order).</summary>
    public double[] Std { get; init; } = [1, 1, 1];

    /// <summary>
    /// An ONNX model applied after range scaling and before the model (a path relative to the manifest).
    /// Its own input is taken to be in <see cref="ColorOrder"/> and <see cref="Range"/>.
    /// </summary>
    public string? PreprocessingModel { get; init; }

    /// <summary>
    /// The square size the model is fed while rendering feature visualizations, when it needs more
    /// than the render size (ResNet-18's final 7×7 average pool needs 224); null: the render size.
    /// </summary>
    public int? RenderSize { get; init; }

    [JsonIgnore]
    public int Height => Size[0];

    [JsonIgnore]
    public int Width => Size[1];

    /// <summary>
    /// The square side the model is fed by the forward lenses (dataset examples, tuning curves) and
    /// the receptive fields: the render size where the manifest gives one, else the input's larger side.
    /// </summary>
    [JsonIgnore]
    public int ForwardSize => RenderSize ?? Math.Max(Height, Width);

    /// <summary>Checks the spec itself; <paramref name="source"/> names it in errors.</summary>
    public void Validate(string source)
    {
        if (Layout is not ("NCHW" or "NHWC"))
        {
            throw new ModelFormatException($"{source}: input layout '{Layout?[..Math.Min(Layout.Length, 20)]}' is not supported; use NCHW or NHWC.");
        }

        if (ColorOrder is not ("RGB" or "BGR"))
        {
            throw new ModelFormatException($"{source}: colour order '{ColorOrder?[..Math.Min(ColorOrder.Length, 20)]}' is not supported; use RGB or BGR.");
        }

        if (Size is not [> 0, > 0])
        {
            throw new ModelFormatException($"{source}: input size must be [height, width] with positive values.");
        }

        if (Range is not [var lo, var hi] || !(hi > lo))
        {
            throw new ModelFormatException($"{source}: input range must be [low, high] with high > low.");
        }

        if (RenderSize is <= 0 or > 4096)
        {
            throw new ModelFormatException($"{source}: renderSize must be between 1 and 4096 pixels.");
        }

        if (Mean is not { Length: 3 } || Std is not { Length: 3 } || Std.Any(s => s == 0))
        {
            throw new ModelFormatException($"{source}: mean and std must have three values each, and std no zeros.");
        }
    }
}
