using Microscope.Lenses;
using Microscope.Optvis;
using Microscope.Optvis.Transforms;

namespace Microscope.Farm.Rendering;

/// <summary>
/// A feature visualization of units (featurevis, neuron, negative, diversity: one instance per lens,
/// each with its objective). The item's units render in as few passes as fit the slot's share of
/// the device's memory (a diverse unit's images in one pass); a unit's picture is the same whatever
/// pass it shared. Diversity stores a sheet of a unit's images as its picture and each image's
/// figures in its data. A layer affine in the image renders featurevis with the neuron objective,
/// and its data says so and why (<see cref="FeatureObjective.For"/>).
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
        var (used, reason) = FeatureObjective.For(layer, objective);
        var renders = FeatureVisualization.Render(model.Vision, layer, item.Units, used, Options(o),
            estimate => render.Services.ImagesPerPass(item, estimate, objective.Diversity), model.Sessions, render.Steps.ForBatches(), render.Cancellation);

        var figures = ImageFigures.Of(renders, model.Vision, layer, o.Size, model.Sessions);
        IReadOnlyList<RenderedLens> lenses = [.. renders.Zip(figures).GroupBy(p => p.First.Unit).Select(g =>
        {
            var images = g.OrderBy(p => p.First.Index).ToList();
            var png = images.Count == 1 ? images[0].First.ToPng() : Png.Sheet([.. images.Select(p => p.First.Image)], o.Size, o.Size, images.Count);
            return new RenderedLens(g.Key, png, new Dictionary<string, double>
            {
                ["objectiveBefore"] = images.Average(p => p.Second.ObjectiveBefore),
                ["objectiveAfter"] = images.Average(p => p.Second.ObjectiveAfter),
                ["objectiveUnderTransforms"] = images.Average(p => p.Second.ObjectiveUnderTransforms),
                ["transformDraws"] = Renderer.RobustnessDraws,
            }, new { images = images.Select(p => p.Second).ToList(), objective = reason is null ? null : "neuron", reason });
        })];
        return Task.FromResult(lenses);
    }
}
