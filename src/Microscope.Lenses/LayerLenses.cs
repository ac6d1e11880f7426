using Microscope.Inference;
using Microscope.Onnx;
using Microscope.Onnx.Gradients;
using Microscope.Optvis;

namespace Microscope.Lenses;

/// <summary>
/// The layer lenses: DeepDream (the layer's mean squared activation climbed on a seed image, octave
/// by octave) and caricature (a feature visualization of the layer's whole response to a seed image:
/// the dot product with its activations there).
/// </summary>
public static class LayerLenses
{
    /// <param name="seed">3×size×size in [0, 1]; null: <see cref="SeedImages.Default"/>.</param>
    public static float[] DeepDream(VisionGraph vision, Layer layer, float[]? seed, int size, DreamOptions options, SessionFactory sessions, IProgress<RenderProgress>? progress = null, CancellationToken cancellation = default)
    {
        var model = GradientBuilder.Build(vision.Model, size, size, new GradientRequest(layer.Tensor, ObjectiveTerms.L2), ShapeProbes.OnCpu(size, size), layer.Id);
        return Optvis.DeepDream.Dream(model, sessions, seed ?? SeedImages.Default(size), size, options, progress, cancellation);
    }

    /// <summary>A caricature of <paramref name="seedPath"/> (or the built-in seed) at <paramref name="layer"/>, rendered with <paramref name="options"/>.</summary>
    public static RenderResult Caricature(VisionGraph vision, Layer layer, string? seedPath, RenderOptions options, SessionFactory sessions, IProgress<RenderProgress>? progress = null, CancellationToken cancellation = default)
    {
        var network = layer.NetworkSize(vision, options.NetworkSize ?? vision.Spec.RenderSize ?? options.Size);
        var seed = seedPath is null ? SeedImages.Default(network) : SeedImages.Load(seedPath, network);
        var model = GradientBuilder.Build(vision.Model, network, network, new GradientRequest(layer.Tensor, ObjectiveTerms.Linear | ObjectiveTerms.L2, IncludeActivations: true), ShapeProbes.OnCpu(network, network), layer.Id);
        double[] activations;
        using (var session = new GradientSession(model, sessions))
        {
            var run = session.Run([.. seed.Select(v => (double)v)], 1, network, network, new ObjectiveParameters(new double[model.LayerShape.Aggregate(1L, (a, b) => a * b)], [0]));
            activations = run.Activations!;
        }

        var caricature = GradientBuilder.Build(vision.Model, network, network, new GradientRequest(layer.Tensor), ShapeProbes.OnCpu(network, network), layer.Id);
        return Renderer.Render(caricature, sessions, [Objective.Caricature(activations)], options with { NetworkSize = network }, progress, cancellation);
    }
}
