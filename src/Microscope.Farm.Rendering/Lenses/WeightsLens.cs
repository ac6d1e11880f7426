using Microscope.Lenses;

namespace Microscope.Farm.Rendering;

/// <summary>Each unit's kernel over the image (a first convolution's weights) as a scaled-up RGB picture, with its weights and colour scale as data.</summary>
internal sealed class WeightsLens : ILensRenderer
{
    public LensKind Lens => FarmLenses.Weights;

    public Task<IReadOnlyList<RenderedLens>> RenderAsync(LensRender render)
    {
        var (model, item) = (render.Model, render.Item);
        var layer = model.Layer(item.Layer);
        if (!layer.AffineInImage || !layer.IsSpatial)
        {
            throw new RenderInputException($"layer '{layer.Id}' has no weights lens: only a feature map affine in the image (a first convolution) has a kernel over the image; here: {string.Join(", ", model.Catalog.Layers.Where(l => l.AffineInImage && l.IsSpatial).Select(l => l.Id).DefaultIfEmpty("none"))}.");
        }

        var kernels = LayerWeights.Measure(model.Vision, layer, item.Units, model.Sessions);
        return Task.FromResult<IReadOnlyList<RenderedLens>>([.. kernels.Select(k => new RenderedLens(k.Unit, k.ToPng(),
            new Dictionary<string, double> { ["scale"] = k.Scale, ["kernelHeight"] = k.Height, ["kernelWidth"] = k.Width },
            new
            {
                kernel = new { k.Height, k.Width, channels = "RGB", layout = "planar: R rows, then G, then B", weights = k.Weights },
                colourScale = new { k.Scale, mapping = LayerWeights.ColourScale, pixelsPerWeight = LayerWeights.PixelsPerWeight },
                reason = LayerWeights.AffineReason,
            }))]);
    }
}
