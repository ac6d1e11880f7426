using Microscope.Lenses;
using Microscope.Lenses.DatasetExamples;
using Microscope.Optvis;
using Microscope.Optvis.Transforms;

namespace Microscope.Farm.Rendering;

/// <summary>
/// The lenses that optimize an image through the model's gradient: feature visualizations of units
/// (featurevis, neuron, negative, diversity) and the layer lenses (DeepDream, caricature), with the
/// figures the CLI writes for them.
/// </summary>
internal static class GradientLenses
{
    public static RenderOptions Options(LensOptions o) =>
        new() { Steps = o.Steps, Size = o.Size, Seed = o.Seed, Fourier = o.Fourier, Transforms = o.Transforms ? null : TransformPipeline.None };

    /// <summary>
    /// The item's units in as few passes as fit the slot's share of the device's memory (diversity:
    /// each unit's images in one pass); a unit's picture is the same whatever pass it shared. Diversity
    /// stores a sheet of a unit's images as its picture and each image's figures in its data.
    /// </summary>
    public static IReadOnlyList<RenderedLens> FeatureVisualizations(LoadedModel model, WorkItem item, RenderPasses passes, StepCounter steps, CancellationToken cancellationToken)
    {
        var o = item.Options;
        var layer = model.Layer(item.Layer);
        var renders = FeatureVisualization.Render(model.Vision, layer, item.Units, item.Lens, Options(o), estimate => passes.ImagesPerPass(item, estimate), model.Sessions, steps.ForBatches(), cancellationToken);

        // Each image's spatial maximum of its unit, fed as dataset examples are: comparable with the
        // unit's top example. In the data, beside each image's objectives, as the CLI writes them.
        var maxima = DatasetScanner.Maxima(model.Vision, layer, [.. renders.Select(r => r.Image)], o.Size, model.ForwardSize, model.Sessions);
        var figures = renders.Select((r, i) => new ImageFigures(r.Index, r.StartObjective, r.FinalObjective, r.RobustObjective, maxima[i][r.Unit], r)).ToList();
        return [.. figures.GroupBy(f => f.Render.Unit).Select(g =>
        {
            var images = g.OrderBy(f => f.Index).ToList();
            var png = images.Count == 1 ? images[0].Render.ToPng() : Png.Sheet([.. images.Select(f => f.Render.Image)], o.Size, o.Size, images.Count);
            return new RenderedLens(g.Key, png, new Dictionary<string, double>
            {
                ["objectiveBefore"] = images.Average(f => f.ObjectiveBefore),
                ["objectiveAfter"] = images.Average(f => f.ObjectiveAfter),
                ["objectiveUnderTransforms"] = images.Average(f => f.ObjectiveUnderTransforms),
                ["transformDraws"] = Renderer.RobustnessDraws,
            }, new { images });
        })];
    }

    /// <summary>DeepDream of the layer from the built-in seed image, at least at the model's own size.</summary>
    public static RenderedLens DeepDream(LoadedModel model, WorkItem item, StepCounter steps, CancellationToken cancellationToken)
    {
        var o = item.Options;
        var size = Math.Max(o.Size, model.Vision.Spec.RenderSize ?? 0);
        var picture = LayerLenses.DeepDream(model.Vision, model.Layer(item.Layer), null, size, new DreamOptions { StepsPerOctave = o.Steps, Seed = o.Seed }, model.Sessions, steps, cancellationToken);
        return new RenderedLens(-1, Png.Encode(picture, size, size), new Dictionary<string, double> { ["size"] = size });
    }

    /// <summary>A caricature of the built-in seed image at the layer.</summary>
    public static RenderedLens Caricature(LoadedModel model, WorkItem item, StepCounter steps, CancellationToken cancellationToken)
    {
        var o = item.Options;
        var result = LayerLenses.Caricature(model.Vision, model.Layer(item.Layer), null, Options(o), model.Sessions, steps, cancellationToken);
        return new RenderedLens(-1, Png.Encode(result.Images, o.Size, o.Size), new Dictionary<string, double>
        {
            ["objectiveBefore"] = result.StartObjective[0],
            ["objectiveAfter"] = result.FinalObjective[0],
            ["objectiveUnderTransforms"] = result.RobustObjective[0],
            ["transformDraws"] = Renderer.RobustnessDraws,
        });
    }

    /// <summary>One image's figures, as the CLI writes them per image (the render itself is not serialized).</summary>
    private sealed record ImageFigures(int Index, double ObjectiveBefore, double ObjectiveAfter, double ObjectiveUnderTransforms, double SpatialMaximum,
        [property: System.Text.Json.Serialization.JsonIgnore] UnitRender Render);
}

/// <summary>Counts optimization steps from render progress and passes the increments on (for steps per second).</summary>
internal sealed class StepCounter(IProgress<int>? steps) : IProgress<RenderProgress>
{
    private int last;

    public long Total { get; private set; }

    public void Report(RenderProgress value)
    {
        // Steps restart at each DeepDream octave; feature visualization counts on across its passes.
        var delta = value.Step >= last ? value.Step - last : value.Step;
        last = value.Step;
        Total += delta;
        steps?.Report(delta);
    }

    /// <summary>Feature visualization's progress (done, total, mean objective) as steps.</summary>
    public IProgress<(int Done, int Total, double MeanObjective)> ForBatches() => new Batches(this);

    private sealed class Batches(StepCounter counter) : IProgress<(int Done, int Total, double MeanObjective)>
    {
        public void Report((int Done, int Total, double MeanObjective) value) => counter.Report(new RenderProgress(value.Done, value.Total, value.MeanObjective));
    }
}
