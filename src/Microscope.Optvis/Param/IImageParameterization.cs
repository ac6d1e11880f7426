namespace Microscope.Optvis.Param;

/// <summary>
/// A way to describe a batch of images by parameters that an optimizer changes: parameters in,
/// RGB images in [0, 1] out (N×3×H×W), and the exact adjoint back.
/// </summary>
public interface IImageParameterization
{
    int Batch { get; }

    int Height { get; }

    int Width { get; }

    /// <summary>The parameters being optimized; the optimizer updates them in place.</summary>
    float[] Parameters { get; }

    /// <summary>Writes the images (N×3×H×W, RGB in [0, 1]).</summary>
    void Image(Span<float> images);

    /// <summary>Given d(objective)/d(images), writes d(objective)/d(parameters). Call after <see cref="Image"/>.</summary>
    void Backward(ReadOnlySpan<float> imageGradient, Span<float> parameterGradient);
}
