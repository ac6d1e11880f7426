using Microscope.Inference;
using Microscope.Onnx;
using Microscope.Onnx.Gradients;
using Microscope.Optvis;

namespace Microscope.Lenses;

/// <summary>One rendered image of a unit, with its quality figures: the objective before and after, and after under random transforms.</summary>
public sealed record UnitRender(int Unit, int Index, float[] Image, int Size, double StartObjective, double FinalObjective, double RobustObjective)
{
    public byte[] ToPng() => Png.Encode(Image, Size, Size);
}

/// <summary>
/// What a feature-visualization lens optimizes for each unit (we maximize: a lens that minimizes
/// negates its objective), and whether each unit renders several images kept apart by Lucid's
/// diversity term. The farm's lens registry gives each lens one of these.
/// </summary>
public sealed record FeatureObjective(Func<int, Objective> ForUnit, bool Diversity = false)
{
    /// <summary>The channel's mean.</summary>
    public static FeatureObjective Channel { get; } = new(Objective.Channel);

    /// <summary>The channel at its centre position.</summary>
    public static FeatureObjective Neuron { get; } = new(unit => Objective.Neuron(unit));

    /// <summary>
    /// The objective <paramref name="layer"/> is rendered with when <paramref name="asked"/>: the
    /// channel objective of a layer affine in the image becomes the neuron objective, with the
    /// reason (<see cref="LayerWeights.AffineReason"/>); anything else is kept, with no reason.
    /// </summary>
    public static (FeatureObjective Objective, string? Reason) For(Layer layer, FeatureObjective asked) =>
        asked == Channel && layer.AffineInImage ? (Neuron, LayerWeights.AffineReason) : (asked, null);

    /// <summary>The channel's mean, minimized.</summary>
    public static FeatureObjective Negative { get; } = new(unit => -Objective.Channel(unit));

    /// <summary>The channel's mean for several images of the unit, kept apart by the diversity term (Lucid's weight, 100).</summary>
    public static FeatureObjective Diverse { get; } = new(unit => Objective.Channel(unit) + Objective.Diversity(FeatureVisualization.DiversityWeight), Diversity: true);
}

/// <summary>
/// Feature visualization of units: an image per unit (several for a diverse objective) optimized for
/// a <see cref="FeatureObjective"/>. Units of one layer render together, one per image of the batch,
/// through one built gradient graph.
/// </summary>
public static class FeatureVisualization
{
    public const double DiversityWeight = 100;

    /// <summary>Renders <paramref name="units"/> of <paramref name="layer"/>; <paramref name="batch"/> images per pass (per unit for diversity).</summary>
    public static IReadOnlyList<UnitRender> Render(
        VisionGraph vision, Layer layer, IReadOnlyList<int> units, FeatureObjective objective, RenderOptions options, int batch, SessionFactory sessions,
        IProgress<(int Done, int Total, double MeanObjective)>? progress = null, CancellationToken cancellation = default) =>
        Render(vision, layer, units, objective, options, _ => batch, sessions, progress, cancellation);

    /// <summary>
    /// Renders <paramref name="units"/> of <paramref name="layer"/> in passes whose size
    /// <paramref name="imagesPerPass"/> chooses from the memory a pass of the built graph needs (a
    /// <see cref="BatchSizer"/>'s plan, say). For diversity it chooses the images of one unit, which
    /// always share one pass. A unit's picture does not depend on the pass it shares.
    /// </summary>
    public static IReadOnlyList<UnitRender> Render(
        VisionGraph vision, Layer layer, IReadOnlyList<int> units, FeatureObjective objective, RenderOptions options, Func<RenderMemory, int> imagesPerPass, SessionFactory sessions,
        IProgress<(int Done, int Total, double MeanObjective)>? progress = null, CancellationToken cancellation = default)
    {
        foreach (var unit in units)
        {
            Ids.ParseUnit(unit.ToString(System.Globalization.CultureInfo.InvariantCulture), layer.Id, layer.Units);
        }

        var network = layer.NetworkSize(vision, options.NetworkSize ?? vision.Spec.RenderSize ?? options.Size);
        var terms = objective.Diversity ? ObjectiveTerms.Linear | ObjectiveTerms.Diversity : ObjectiveTerms.Linear;
        var model = GradientBuilder.Build(vision.Model, network, network, new GradientRequest(layer.Tensor, terms, ReluRedirect: options.ReluRedirect), ShapeProbes.OnCpu(network, network), layer.Id);
        var settings = options with { NetworkSize = network };
        var batch = imagesPerPass(RenderMemory.Of(model, settings));

        // Each pass renders a list of (unit, index) jobs with one objective each.
        var jobs = objective.Diversity
            ? units.Select(u => Enumerable.Range(0, Math.Max(2, batch)).Select(i => (Unit: u, Index: i)).ToList()).ToList()
            : units.Chunk(Math.Max(1, batch)).Select(chunk => chunk.Select(u => (Unit: u, Index: 0)).ToList()).ToList();
        var total = jobs.Count * options.Steps;
        var done = 0;
        var renders = new List<UnitRender>();
        foreach (var pass in jobs)
        {
            var objectives = pass.Select(job => objective.ForUnit(job.Unit)).ToList();
            var offset = done;
            var result = Renderer.Render(model, sessions, objectives, settings, new SynchronousProgress<RenderProgress>(p => progress?.Report((offset + p.Step, total, p.MeanObjective))), cancellation,
                [.. pass.Select(job => RenderSeeds.Key(job.Unit, job.Index))]);
            done += options.Steps;
            var imageSize = 3 * options.Size * options.Size;
            for (var i = 0; i < pass.Count; i++)
            {
                renders.Add(new UnitRender(pass[i].Unit, pass[i].Index, result.Images[(i * imageSize)..((i + 1) * imageSize)], options.Size, result.StartObjective[i], result.FinalObjective[i], result.RobustObjective[i]));
            }
        }

        return renders;
    }

    /// <summary>Reports on the caller's thread (Progress&lt;T&gt; would post to the thread pool).</summary>
    private sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
