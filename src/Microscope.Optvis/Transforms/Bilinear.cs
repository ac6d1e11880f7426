namespace Microscope.Optvis.Transforms;

/// <summary>
/// Bilinear resampling through a coordinate map (output pixel centre → input coordinates), with its
/// exact adjoint: the forward gathers four weighted neighbours, the backward scatters the gradient
/// back with the same weights. Samples outside the input read 0.
/// </summary>
public sealed class Bilinear : ITransformStep
{
    private readonly int[] index;
    private readonly float[] weight;

    /// <param name="map">Output (x, y) → input (x, y), in pixel units where pixel i covers [i, i + 1).</param>
    public Bilinear(int inHeight, int inWidth, int outHeight, int outWidth, Func<double, double, (double X, double Y)> map)
    {
        (InputHeight, InputWidth, OutputHeight, OutputWidth) = (inHeight, inWidth, outHeight, outWidth);
        index = new int[outHeight * outWidth * 4];
        weight = new float[outHeight * outWidth * 4];
        for (var y = 0; y < outHeight; y++)
        {
            for (var x = 0; x < outWidth; x++)
            {
                var (sx, sy) = map(x + 0.5, y + 0.5);
                sx -= 0.5;
                sy -= 0.5;
                var x0 = (int)Math.Floor(sx);
                var y0 = (int)Math.Floor(sy);
                var (fx, fy) = (sx - x0, sy - y0);
                var o = ((y * outWidth) + x) * 4;
                Set(o, x0, y0, (1 - fx) * (1 - fy));
                Set(o + 1, x0 + 1, y0, fx * (1 - fy));
                Set(o + 2, x0, y0 + 1, (1 - fx) * fy);
                Set(o + 3, x0 + 1, y0 + 1, fx * fy);
            }
        }
    }

    /// <summary>Resampling through an affine map, which the device-resident render graph can run too.</summary>
    public Bilinear(int inHeight, int inWidth, int outHeight, int outWidth, AffineStage map)
        : this(inHeight, inWidth, outHeight, outWidth, map.Map)
    {
        Stage = map;
    }

    public int InputHeight { get; }

    public int InputWidth { get; }

    public int OutputHeight { get; }

    public int OutputWidth { get; }

    /// <summary>The affine map when the resampling was built from one; null for an arbitrary map.</summary>
    public DeviceStage? Stage { get; }

    public static Bilinear Resize(int inHeight, int inWidth, int outHeight, int outWidth) =>
        new(inHeight, inWidth, outHeight, outWidth, AffineStage.Resize(inHeight, inWidth, outHeight, outWidth));

    public void Forward(ReadOnlySpan<float> input, Span<float> output)
    {
        var (inPlane, outPlane) = (InputHeight * InputWidth, OutputHeight * OutputWidth);
        for (var c = 0; c < 3; c++)
        {
            var source = input.Slice(c * inPlane, inPlane);
            var target = output.Slice(c * outPlane, outPlane);
            for (var p = 0; p < outPlane; p++)
            {
                var sum = 0f;
                for (var k = 0; k < 4; k++)
                {
                    var i = index[(p * 4) + k];
                    if (i >= 0)
                    {
                        sum += weight[(p * 4) + k] * source[i];
                    }
                }

                target[p] = sum;
            }
        }
    }

    public void Backward(ReadOnlySpan<float> outputGradient, Span<float> inputGradient)
    {
        var (inPlane, outPlane) = (InputHeight * InputWidth, OutputHeight * OutputWidth);
        inputGradient[..(3 * inPlane)].Clear();
        for (var c = 0; c < 3; c++)
        {
            var source = outputGradient.Slice(c * outPlane, outPlane);
            var target = inputGradient.Slice(c * inPlane, inPlane);
            for (var p = 0; p < outPlane; p++)
            {
                var g = source[p];
                for (var k = 0; k < 4; k++)
                {
                    var i = index[(p * 4) + k];
                    if (i >= 0)
                    {
                        target[i] += weight[(p * 4) + k] * g;
                    }
                }
            }
        }
    }

    private void Set(int slot, int x, int y, double w)
    {
        var inside = x >= 0 && y >= 0 && x < InputWidth && y < InputHeight && w != 0;
        index[slot] = inside ? (y * InputWidth) + x : -1;
        weight[slot] = inside ? (float)w : 0;
    }
}
