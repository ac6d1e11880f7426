namespace Microscope.Optvis.Param;

/// <summary>
/// Lucid's <c>to_valid_rgb</c>: a linear map that decorrelates colour, then a sigmoid into [0, 1].
/// Optimizing in a decorrelated space spreads a step over the three channels as natural images
/// correlate them, so renders are not dominated by high-frequency colour noise.
/// </summary>
public static class ColorSpace
{
    /// <summary>
    /// The square root of ImageNet's colour correlation matrix (its SVD factor, as Lucid gives it),
    /// normalized by its largest column norm.
    /// </summary>
    public static readonly float[,] Decorrelation = Normalize(new float[,]
    {
        { 0.26f, 0.09f, 0.02f },
        { 0.27f, 0.00f, -0.05f },
        { 0.27f, -0.09f, 0.03f },
    });

    /// <summary>rgb = sigmoid(C · raw) per pixel, for one image of 3×P values.</summary>
    public static void ToRgb(ReadOnlySpan<float> raw, Span<float> rgb, int pixels, bool decorrelate)
    {
        for (var p = 0; p < pixels; p++)
        {
            for (var c = 0; c < 3; c++)
            {
                var value = decorrelate
                    ? (Decorrelation[c, 0] * raw[p]) + (Decorrelation[c, 1] * raw[pixels + p]) + (Decorrelation[c, 2] * raw[(2 * pixels) + p])
                    : raw[(c * pixels) + p];
                rgb[(c * pixels) + p] = 1f / (1f + MathF.Exp(-value));
            }
        }
    }

    /// <summary>The adjoint of <see cref="ToRgb"/>, given its output.</summary>
    public static void Backward(ReadOnlySpan<float> rgb, ReadOnlySpan<float> rgbGradient, Span<float> rawGradient, int pixels, bool decorrelate)
    {
        Span<float> g = stackalloc float[3];
        for (var p = 0; p < pixels; p++)
        {
            for (var c = 0; c < 3; c++)
            {
                var s = rgb[(c * pixels) + p];
                g[c] = rgbGradient[(c * pixels) + p] * s * (1 - s);
            }

            for (var k = 0; k < 3; k++)
            {
                rawGradient[(k * pixels) + p] = decorrelate
                    ? (Decorrelation[0, k] * g[0]) + (Decorrelation[1, k] * g[1]) + (Decorrelation[2, k] * g[2])
                    : g[k];
            }
        }
    }

    private static float[,] Normalize(float[,] matrix)
    {
        var max = 0.0;
        for (var column = 0; column < 3; column++)
        {
            var norm = Math.Sqrt(Enumerable.Range(0, 3).Sum(row => (double)matrix[row, column] * matrix[row, column]));
            max = Math.Max(max, norm);
        }

        var result = new float[3, 3];
        for (var row = 0; row < 3; row++)
        {
            for (var column = 0; column < 3; column++)
            {
                result[row, column] = (float)(matrix[row, column] / max);
            }
        }

        return result;
    }
}
