namespace Microscope.Optvis.Transforms;

/// <summary>
/// What a drawn transform step does, in the terms the device-resident render graph is built from
/// (<see cref="Resident.ResidentGraph"/>): the graph's structure follows the stage kinds of a
/// pipeline and each step feeds only the stages' parameters.
/// </summary>
public abstract record DeviceStage;

/// <summary>Pads every side by <paramref name="Pixels"/> with a constant; the same for every draw.</summary>
public sealed record PadStage(int Pixels, float Value) : DeviceStage;

/// <summary>Crops to the step's output size from (<paramref name="Top"/>, <paramref name="Left"/>).</summary>
public sealed record CropStage(int Top, int Left) : DeviceStage;

/// <summary>
/// Bilinear resampling to the step's output size through an affine map from output pixel centres
/// to input coordinates, pixel i covering [i, i + 1): x' = A·x + B·y + C, y' = D·x + E·y + F.
/// Samples outside the input read 0.
/// </summary>
public sealed record AffineStage(double A, double B, double C, double D, double E, double F) : DeviceStage
{
    public (double X, double Y) Map(double x, double y) => ((A * x) + (B * y) + C, (D * x) + (E * y) + F);

    /// <summary>Resizing an in-height × in-width image to out-height × out-width (half-pixel centres).</summary>
    public static AffineStage Resize(int inHeight, int inWidth, int outHeight, int outWidth) =>
        new((double)inWidth / outWidth, 0, 0, 0, (double)inHeight / outHeight, 0);

    /// <summary>Rotating a height × width image about its centre by <paramref name="radians"/> (output → input: rotate back).</summary>
    public static AffineStage Rotate(int height, int width, double radians)
    {
        var (cos, sin) = (Math.Cos(radians), Math.Sin(radians));
        var (cx, cy) = (width / 2.0, height / 2.0);
        return new(cos, sin, cx - (cos * cx) - (sin * cy), -sin, cos, cy + (sin * cx) - (cos * cy));
    }
}
