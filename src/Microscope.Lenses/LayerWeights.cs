using Microscope.Inference;
using Microscope.Onnx;
using Microscope.Onnx.Gradients;

namespace Microscope.Lenses;

/// <summary>A unit's kernel over the image: planar RGB weights (3×<see cref="Height"/>×<see cref="Width"/>) and <see cref="Scale"/>, its largest |weight|, which its picture shows as full colour.</summary>
public sealed record UnitKernel(int Unit, int Height, int Width, double[] Weights, double Scale)
{
    /// <summary>The kernel as an RGB picture, each weight a square of <see cref="LayerWeights.PixelsPerWeight"/> pixels, coloured as <see cref="LayerWeights.ColourScale"/> says.</summary>
    public byte[] ToPng()
    {
        var k = LayerWeights.PixelsPerWeight;
        var (h, w) = (Height * k, Width * k);
        var image = new float[3 * h * w];
        for (var c = 0; c < 3; c++)
        {
            for (var y = 0; y < h; y++)
            {
                for (var x = 0; x < w; x++)
                {
                    var weight = Weights[(((c * Height) + (y / k)) * Width) + (x / k)];
                    image[(((c * h) + y) * w) + x] = (float)(0.5 + (Scale > 0 ? 0.5 * weight / Scale : 0));
                }
            }
        }

        return Png.Encode(image, h, w);
    }
}

/// <summary>
/// The weights of a layer that is affine in the image (no nonlinearity between them: a first
/// convolution, with the preprocessing folded in). Such a unit's centre neuron is w · image + b, so
/// its gradient with respect to the image is its kernel w, exactly, whatever the image: the kernel is
/// read as that gradient, cropped to the receptive field. It is in the image's own terms (RGB in
/// [0, 1], the model's colour order, scaling and mean already folded in), which is what its
/// picture should show.
/// </summary>
public static class LayerWeights
{
    /// <summary>Each weight's square in the picture, in pixels.</summary>
    public const int PixelsPerWeight = 16;

    public const string ColourScale = "each of R, G and B is 0.5 + 0.5 · weight / scale: grey is 0, full colour is +scale, none is −scale; scale is the unit's largest |weight|";

    /// <summary>Why a layer affine in the image is shown by its centre neuron and its weights.</summary>
    public const string AffineReason =
        "this layer is affine in the image (no nonlinearity lies between them), so its channel mean has no optimum inside the image's range: maximizing it gives a flat colour with artefacts at the borders. Its feature visualization maximizes the centre neuron instead, and its weights lens shows each kernel.";

    /// <summary>The image size the kernels are read at: large enough that a first layer's receptive field around the centre stays inside.</summary>
    public const int ReadSize = 96;

    public static IReadOnlyList<UnitKernel> Measure(VisionGraph vision, Layer layer, IReadOnlyList<int> units, SessionFactory sessions)
    {
        if (!layer.AffineInImage || !layer.IsSpatial)
        {
            throw new ArgumentException($"layer '{layer.Id}' has no kernel over the image: only a feature map affine in the image (a first convolution) has one.", nameof(layer));
        }

        var size = layer.NetworkSize(vision, ReadSize);
        var model = GradientBuilder.Build(vision.Model, size, size, new GradientRequest(layer.Tensor), ShapeProbes.OnCpu(size, size), layer.Id);
        using var session = new GradientSession(model, sessions);
        var objectives = units.Select(u => Objective.Neuron(u)).ToList();
        var image = new double[units.Count * 3 * size * size];
        Array.Fill(image, 0.5);
        var gradient = session.Run(image, units.Count, size, size, Objective.Parameters(objectives, model.LayerShape, model.Request.Terms)).Gradient;

        // The receptive field: where any unit's kernel is not zero (the same window for every unit of the layer).
        var largest = gradient.Max(Math.Abs);
        var (top, left, bottom, right) = (size, size, -1, -1);
        var plane = size * size;
        for (var i = 0; i < gradient.Length; i++)
        {
            if (Math.Abs(gradient[i]) > largest * 1e-9)
            {
                var (y, x) = Math.DivRem(i % plane, size);
                (top, left, bottom, right) = (Math.Min(top, y), Math.Min(left, x), Math.Max(bottom, y), Math.Max(right, x));
            }
        }

        if (bottom < 0)
        {
            return [.. units.Select(u => new UnitKernel(u, 1, 1, new double[3], 0))];
        }

        if (top == 0 || left == 0 || bottom == size - 1 || right == size - 1)
        {
            throw new ArgumentException($"the kernel of layer '{layer.Id}' reaches the border of a {size}-pixel image: its receptive field is too large for a weights picture.", nameof(layer));
        }

        var (height, width) = (bottom - top + 1, right - left + 1);
        return [.. units.Select((unit, n) =>
        {
            var weights = new double[3 * height * width];
            for (var c = 0; c < 3; c++)
            {
                for (var y = 0; y < height; y++)
                {
                    for (var x = 0; x < width; x++)
                    {
                        weights[(((c * height) + y) * width) + x] = gradient[(n * 3 * plane) + (c * plane) + ((top + y) * size) + left + x];
                    }
                }
            }

            return new UnitKernel(unit, height, width, weights, weights.Max(Math.Abs));
        })];
    }
}
