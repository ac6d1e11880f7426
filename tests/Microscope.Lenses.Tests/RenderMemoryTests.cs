using Microscope.Inference;
using Microscope.Lenses;
using Microscope.Onnx;
using Microscope.Onnx.Gradients;
using Microscope.Optvis;
using Microscope.Testing;

namespace Microscope.Lenses.Tests;

/// <summary>The memory estimate of a pass: per image from the built graph's activations and the loop's state, fixed from its weights.</summary>
public sealed class RenderMemoryTests
{
    private static GradientModel Conv(int channels)
    {
        var m = new TinyModel(seed: 3);
        var x = m.Input(VisionGraph.ImageInput, -1, 3, -1, -1);
        var layer = m.Relu(m.Conv(m.Relu(m.Conv(x, 3, channels)), channels, channels));
        m.Output(layer);
        return GradientBuilder.Build(m.Build(), 32, 32, new GradientRequest(layer), ShapeProbes.OnCpu(32, 32), "test");
    }

    [Fact]
    public void An_image_costs_more_where_the_layer_keeps_larger_activations()
    {
        var options = new RenderOptions { Size = 32, NetworkSize = 32 };
        var narrow = RenderMemory.Of(Conv(4), options);
        var wide = RenderMemory.Of(Conv(16), options);

        Assert.True(wide.BytesPerImage > narrow.BytesPerImage);
        Assert.Equal(narrow.LoopElements, wide.LoopElements);
        Assert.True(wide.FixedBytes > narrow.FixedBytes, "more weights, a larger fixed part");
        Assert.True(narrow.BytesPerImage >= RenderMemory.BytesPerElement * ((2 * narrow.ForwardElements) + narrow.LoopElements), "activations and their gradients at least");
        Assert.Equal(narrow.FixedBytes + (3 * narrow.BytesPerImage), narrow.PassBytes(3));
    }

    [Fact]
    public void The_loop_keeps_its_parameters_six_times_the_image_and_the_transform_chain()
    {
        // Fourier at 128: 3·128·65 complex coefficients; pixels: 3·128²; the chain at the network's 224.
        Assert.Equal((6 * 3 * 128 * 65 * 2) + (3 * 128 * 128) + (6 * 3 * 224 * 224), RenderMemory.LoopElementsPerImage(128, 224, fourier: true));
        Assert.Equal((6 * 3 * 128 * 128) + (3 * 128 * 128) + (6 * 3 * 224 * 224), RenderMemory.LoopElementsPerImage(128, 224, fourier: false));
    }
}
