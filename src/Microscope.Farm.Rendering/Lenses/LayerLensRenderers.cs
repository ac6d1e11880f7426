using Microscope.Lenses;
using Microscope.Optvis;

namespace Microscope.Farm.Rendering;

/// <summary>DeepDream of the layer from the built-in seed image, at least at the model's own size.</summary>
internal sealed class DeepDreamLens : ILensRenderer
{
    public LensKind Lens => FarmLenses.DeepDream;

    public Task<IReadOnlyList<RenderedLens>> RenderAsync(LensRender render)
    {
        var (model, o) = (render.Model, render.Item.Options);
        var size = Math.Max(o.Size, model.Vision.Spec.RenderSize ?? 0);
        var seed = render.SeedImage is null ? null : SeedImages.Load(render.SeedImage, size);
        var picture = LayerLenses.DeepDream(model.Vision, model.Layer(render.Item.Layer), seed, size, new DreamOptions { StepsPerOctave = o.Steps, Seed = o.Seed }, model.Sessions, render.Steps, render.Cancellation);
        return Task.FromResult<IReadOnlyList<RenderedLens>>([new RenderedLens(-1, Png.Encode(picture, size, size), new Dictionary<string, double> { ["size"] = size }, SeedData.Of(render))]);
    }
}

/// <summary>A caricature of the built-in seed image at the layer.</summary>
internal sealed class CaricatureLens : ILensRenderer
{
    public LensKind Lens => FarmLenses.Caricature;

    public Task<IReadOnlyList<RenderedLens>> RenderAsync(LensRender render)
    {
        var (model, o) = (render.Model, render.Item.Options);
        var result = LayerLenses.Caricature(model.Vision, model.Layer(render.Item.Layer), render.SeedImage, FeatureVisualizationLens.Options(o), model.Sessions, render.Steps, render.Cancellation);
        return Task.FromResult<IReadOnlyList<RenderedLens>>([new RenderedLens(-1, Png.Encode(result.Images, o.Size, o.Size), new Dictionary<string, double>
        {
            ["objectiveBefore"] = result.StartObjective[0],
            ["objectiveAfter"] = result.FinalObjective[0],
            ["objectiveUnderTransforms"] = result.RobustObjective[0],
            ["transformDraws"] = Renderer.RobustnessDraws,
        }, SeedData.Of(render))]);
    }
}

/// <summary>The data of a layer lens: the image it started from.</summary>
internal static class SeedData
{
    public static object Of(LensRender render) => new { seedImage = render.SeedImage is null ? "built-in" : Path.GetFullPath(render.SeedImage) };
}
