using Microscope.Optvis.Transforms;

namespace Microscope.Optvis;

/// <summary>How to render; every value has Lucid's default.</summary>
public sealed record RenderOptions
{
    /// <summary>Side of the rendered image in pixels.</summary>
    public int Size { get; init; } = 128;

    /// <summary>Optimization steps (OpenAI Microscope used 4096).</summary>
    public int Steps { get; init; } = 512;

    public double LearningRate { get; init; } = 0.05;

    /// <summary>Seeds the initial image and every transform draw: same seed, same image.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Fourier (1/f-scaled spectrum) parameterization; false for plain pixels.</summary>
    public bool Fourier { get; init; } = true;

    public double DecayPower { get; init; } = 1;

    public double InitialSd { get; init; } = 0.01;

    public bool Decorrelate { get; init; } = true;

    /// <summary>Transformation robustness; null means Lucid's standard transforms.</summary>
    public TransformPipeline? Transforms { get; init; }

    /// <summary>
    /// The square size the model is fed: after the transforms, images are resampled to it (bilinear,
    /// differentiable). Null means <see cref="Size"/>; a model that needs larger inputs (ResNet-18's
    /// 7×7 average pool wants 224) gets its manifest size.
    /// </summary>
    public int? NetworkSize { get; init; }

    /// <summary>
    /// Lucid's redirected ReLU gradient for the first <see cref="Renderer.ReluRedirectSteps"/> steps,
    /// then the true gradient: a unit the start image leaves dead still gets going. It takes a gradient
    /// graph built with <see cref="Onnx.Gradients.GradientRequest.ReluRedirect"/> (feature
    /// visualization builds it so when this is on); a graph without the switch always climbs the
    /// true gradient.
    /// </summary>
    public bool ReluRedirect { get; init; } = true;
}

/// <summary>Progress of a render: steps done of all, and the batch's mean objective now.</summary>
public readonly record struct RenderProgress(int Step, int Steps, double MeanObjective);

/// <summary>
/// The rendered images (N×3×S×S, RGB in [0, 1]) and their quality figures: each image's objective
/// before and after (no transforms), and after averaged over <see cref="Renderer.RobustnessDraws"/>
/// fresh random draws of the transforms (a render that only works from one angle scores low).
/// </summary>
public sealed record RenderResult(float[] Images, int Batch, int Size, double[] StartObjective, double[] FinalObjective, double[] RobustObjective);
