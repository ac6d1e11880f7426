namespace Microscope.Optvis.Param;

/// <summary>Plain pixels (in the decorrelated colour space, through a sigmoid): Lucid's <c>pixel_image</c>.</summary>
public sealed class PixelImage : IImageParameterization
{
    private readonly bool decorrelate;
    private readonly float[] rgb;

    public PixelImage(int batch, int height, int width, Random random, double initialSd = 0.01, bool decorrelate = true)
        : this(height, width, [.. Enumerable.Repeat(random, batch)], initialSd, decorrelate)
    {
    }

    /// <param name="perImage">One random source per image of the batch: image n's initial pixels are drawn from source n alone.</param>
    public PixelImage(int height, int width, IReadOnlyList<Random> perImage, double initialSd = 0.01, bool decorrelate = true)
    {
        var batch = perImage.Count;
        (Batch, Height, Width, this.decorrelate) = (batch, height, width, decorrelate);
        Parameters = new float[batch * 3 * height * width];
        Gaussian.Fill(Parameters, initialSd, perImage);
        rgb = new float[Parameters.Length];
    }

    public int Batch { get; }

    public int Height { get; }

    public int Width { get; }

    public float[] Parameters { get; }

    public bool Decorrelated => decorrelate;

    public void Image(Span<float> images)
    {
        var size = 3 * Height * Width;
        for (var n = 0; n < Batch; n++)
        {
            ColorSpace.ToRgb(Parameters.AsSpan(n * size, size), rgb.AsSpan(n * size, size), Height * Width, decorrelate);
        }

        rgb.CopyTo(images);
    }

    public void Backward(ReadOnlySpan<float> imageGradient, Span<float> parameterGradient)
    {
        var size = 3 * Height * Width;
        for (var n = 0; n < Batch; n++)
        {
            ColorSpace.Backward(rgb.AsSpan(n * size, size), imageGradient.Slice(n * size, size), parameterGradient.Slice(n * size, size), Height * Width, decorrelate);
        }
    }
}
