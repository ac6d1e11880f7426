using Microscope.Inference;
using Microscope.Onnx;
using Microscope.Onnx.Gradients;
using Microscope.Optvis;

namespace Microscope.Lenses;

/// <summary>One rendered image of a unit, with its quality figures: the objective before and after, and after under random transforms.</summary>
public sealed record UnitRender(int Unit, string Lens, int Index, float[] Image, int Size, double StartObjective, double FinalObjective, double RobustObjective)
{
    public byte[] ToPng() => Png.Encode(Image, Size, Size);
}

/// <summary>
/// The unit lenses of feature visualization: <c>featurevis</c> (the channel's mean), <c>neuron</c>
/// (the centre position), <c>negative</c> (the channel minimized) and <c>diversity</c> (several images
/// of one unit kept apart by Lucid's diversity term, weight 100). Units of one layer render together,
/// one per image of the batch, through one built gradient graph.
/// </summary>
public static class FeatureVisualization
{
    public static readonly IReadOnlyList<string> Lenses = ["featurevis", "neuron", "negative", "diversity"];

    public const double DiversityWeight = 100;

    /// <summary>Renders <paramref name="units"/> of <paramref name="layer"/>; <paramref name="batch"/> images per pass (per unit for diversity).</summary>
    public static IReadOnlyList<UnitRender> Render(
        VisionGraph vision, Layer layer, IReadOnlyList<int> units, string lens, RenderOptions options, int batch, SessionFactory sessions,
        IProgress<(int Done, int Total, double MeanObjective)>? progress = null, CancellationToken cancellation = default) =>
        Render(vision, layer, units, lens, options, _ => batch, sessions, progress, cancellation);

    /// <summary>
    /// Renders <paramref name="units"/> of <paramref name="layer"/> in passes whose size
    /// <paramref name="imagesPerPass"/> chooses from the memory a pass of the built graph needs (a
    /// <see cref="BatchSizer"/>'s plan, say). For diversity it chooses the images of one unit, which
    /// always share one pass. A unit's picture does not depend on the pass it shares.
    /// </summary>
    public static IReadOnlyList<UnitRender> Render(
        VisionGraph vision, Layer layer, IReadOnlyList<int> units, string lens, RenderOptions options, Func<RenderMemory, int> imagesPerPass, SessionFactory sessions,
        IProgress<(int Done, int Total, double MeanObjective)>? progress = null, CancellationToken cancellation = default)
    {
        if (!Lenses.Contains(lens))
        {
            throw new ModelFormatException($"'{lens}' is not a feature-visualization lens; use {string.Join(", ", Lenses)}.");
        }

        foreach (var unit in units)
        {
            Ids.ParseUnit(unit.ToString(System.Globalization.CultureInfo.InvariantCulture), layer.Id, layer.Units);
        }

        var network = options.NetworkSize ?? vision.Spec.RenderSize ?? options.Size;
        var terms = lens == "diversity" ? ObjectiveTerms.Linear | ObjectiveTerms.Diversity : ObjectiveTerms.Linear;
        var model = GradientBuilder.Build(vision.Model, network, network, new GradientRequest(layer.Tensor, terms), ShapeProbes.OnCpu(network, network), layer.Id);
        var settings = options with { NetworkSize = network };
        var batch = imagesPerPass(RenderMemory.Of(model, settings));

        // Each pass renders a list of (unit, index) jobs with one objective each.
        var jobs = lens == "diversity"
            ? units.Select(u => Enumerable.Range(0, Math.Max(2, batch)).Select(i => (Unit: u, Index: i)).ToList()).ToList()
            : units.Chunk(Math.Max(1, batch)).Select(chunk => chunk.Select(u => (Unit: u, Index: 0)).ToList()).ToList();
        var total = jobs.Count * options.Steps;
        var done = 0;
        var renders = new List<UnitRender>();
        foreach (var pass in jobs)
        {
            var objectives = pass.Select(job => Objective(lens, job.Unit)).ToList();
            var offset = done;
            var result = Renderer.Render(model, sessions, objectives, settings, new SynchronousProgress<RenderProgress>(p => progress?.Report((offset + p.Step, total, p.MeanObjective))), cancellation,
                [.. pass.Select(job => RenderSeeds.Key(job.Unit, job.Index))]);
            done += options.Steps;
            var imageSize = 3 * options.Size * options.Size;
            for (var i = 0; i < pass.Count; i++)
            {
                renders.Add(new UnitRender(pass[i].Unit, lens, pass[i].Index, result.Images[(i * imageSize)..((i + 1) * imageSize)], options.Size, result.StartObjective[i], result.FinalObjective[i], result.RobustObjective[i]));
            }
        }

        return renders;
    }

    private static Objective Objective(string lens, int unit) => lens switch
    {
        "neuron" => Onnx.Gradients.Objective.Neuron(unit),
        "negative" => -Onnx.Gradients.Objective.Channel(unit),
        "diversity" => Onnx.Gradients.Objective.Channel(unit) + Onnx.Gradients.Objective.Diversity(DiversityWeight),
        _ => Onnx.Gradients.Objective.Channel(unit),
    };

    /// <summary>Reports on the caller's thread (Progress&lt;T&gt; would post to the thread pool).</summary>
    private sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
