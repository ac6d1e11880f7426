namespace Microscope.Optvis.Transforms;

/// <summary>
/// A random image-to-image map for transformation robustness: each step draws its parameters from
/// an explicit random source (<see cref="Sample"/>), and the drawn step maps a batch forward and its
/// gradient back exactly (the adjoint).
/// </summary>
public interface ITransform
{
    ITransformStep Sample(Random random, int height, int width);
}

/// <summary>One drawn transform: fixed sizes, a forward map and its adjoint, per image of 3 channels.</summary>
public interface ITransformStep
{
    int InputHeight { get; }

    int InputWidth { get; }

    int OutputHeight { get; }

    int OutputWidth { get; }

    /// <summary>The step as the device-resident render graph runs it; null when it has no such form (that graph then cannot run the pipeline).</summary>
    DeviceStage? Stage { get; }

    /// <summary>Maps one image (3×H×W) to its output (3×H'×W').</summary>
    void Forward(ReadOnlySpan<float> input, Span<float> output);

    /// <summary>Maps the output's gradient back to the input's (overwriting it).</summary>
    void Backward(ReadOnlySpan<float> outputGradient, Span<float> inputGradient);
}
