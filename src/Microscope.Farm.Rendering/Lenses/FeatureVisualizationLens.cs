using Microscope.Lenses;
using Microscope.Lenses.DatasetExamples;
using Microscope.Optvis;
using Microscope.Optvis.Transforms;

namespace Microscope.Farm.Rendering;

/// <summary>
/// A feature visualization of units (featurevis, neuron, negative, diversity: one instance per lens,
/// each with its objective). The item's units render in as few passes as fit the slot's share of
/// the device's memory (a diverse unit's images in one pass); a unit's picture is the same whatever
/// pass it shared. Diversity stores a sheet of a unit's images as its picture and each image's
/// figures in its data.
/// </summary>
internal sealed class FeatureVisualizationLens(LensKind lens, FeatureObjective objective) : ILensRenderer
{
    public LensKind Lens => lens;

    public FeatureObjective Objective => objective;

    public static RenderOptions Options(LensOptions o) =>
        new() { Steps = o.Steps, Size = o.Size, Seed = o.Seed, Fourier = o.Fourier, Transforms = o.Transforms ? null : TransformPipeline.None, ReluRedirect = o.ReluRedirect };

    public Task<IReadOnlyList<RenderedLens>> RenderAsync(LensRender render)
    {
        var (model, item, o) = (render.Model, render.Item, render.Item.Options);
        var layer = model.Layer(item.Layer);
        var renders = FeatureVisualization.Render(model.Vision, layer, item.Units, objective, Options(o),
            estimate => render.Services.Passes.ImagesPerPass(item, estimate, coupled: objective.Diversity), model.Sessions, render.Steps.ForBatches(), render.Cancellation);

        // Each image's spatial maximum of its unit, fed as dataset examples are: comparable with the
        // unit's top example. In the data, beside each image's objectives, as the CLI writes them.
        var maxima = DatasetScanner.Maxima(model.Vision, layer, [.. renders.Select(r => r.Image)], o.Size, model.ForwardSize, model.Sessions);
        var figures = renders.Select((r, i) => new ImageFigures(r.Index, r.StartObjective, r.FinalObjective, r.RobustObjective, maxima[i][r.Unit], r)).ToList();
        IReadOnlyList<RenderedLens> lenses = [.. figures.GroupBy(f => f.Render.Unit).Select(g =>
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
        return Task.FromResult(lenses);
    }

    /// <summary>One image's figures, as the CLI writes them per image (the render itself is not serialized).</summary>
    private sealed record ImageFigures(int Index, double ObjectiveBefore, double ObjectiveAfter, double ObjectiveUnderTransforms, double SpatialMaximum,
        [property: System.Text.Json.Serialization.JsonIgnore] UnitRender Render);
}
