using Microscope.Lenses.Tuning;

namespace Microscope.Farm.Rendering;

/// <summary>Each unit's tuning curve to the item's stimulus family: the plot, the curve as data, the peak as figures.</summary>
internal sealed class TuningLens : ILensRenderer
{
    public LensKind Lens => FarmLenses.Tuning;

    public Task<IReadOnlyList<RenderedLens>> RenderAsync(LensRender render)
    {
        var (model, item) = (render.Model, render.Item);
        var family = StimulusFamily.Get(item.Options.Family);
        var points = family.Points();
        var curves = TuningCurves.Measure(model.Vision, model.Layer(item.Layer), item.Units, family, model.ForwardSize, model.Sessions);
        return Task.FromResult<IReadOnlyList<RenderedLens>>([.. curves.Select(c =>
        {
            var (peak, at) = c.Peak(points);
            var quality = new Dictionary<string, double> { ["peak"] = peak, ["mean"] = c.Responses.Average() };
            for (var i = 0; i < family.Axes.Count; i++)
            {
                quality["peakAt." + family.Axes[i].Name] = at[i];
            }

            return new RenderedLens(c.Unit, Plots.Render(c), quality, c);
        })]);
    }
}
