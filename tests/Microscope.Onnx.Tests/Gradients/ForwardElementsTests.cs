using Microscope.Inference;
using Microscope.Onnx.Gradients;
using Microscope.Testing;

namespace Microscope.Onnx.Tests.Gradients;

/// <summary>The forward elements per image a built gradient graph keeps for its reverse pass: what a render's memory grows by per image.</summary>
public sealed class ForwardElementsTests
{
    private static GradientModel Build(int channels, int kernel, bool pool, int size = 8)
    {
        var m = new TinyModel(seed: 2);
        var x = m.Input(VisionGraph.ImageInput, -1, 3, -1, -1);
        var y = m.Relu(m.Conv(x, 3, channels, kernel: kernel, pad: kernel / 2));
        m.Output(pool ? m.MaxPool(y) : y);
        var layer = m.Build().Graph.Output[0].Name;
        return GradientBuilder.Build(m.Build(), size, size, new GradientRequest(layer), ShapeProbes.OnCpu(size, size), "test");
    }

    [Fact]
    public void Every_tensor_on_the_differentiable_path_counts_once_per_image()
    {
        // The image (3·8·8), the convolution's output and the Relu's (4·8·8 each).
        Assert.Equal((3 * 64) + (2 * 4 * 64), Build(channels: 4, kernel: 3, pool: false).ForwardElementsPerImage);

        // A MaxPool adds its output and the indices its gradient scatters through (4·4·4 each).
        Assert.Equal((3 * 64) + (2 * 4 * 64) + (2 * 4 * 16), Build(channels: 4, kernel: 3, pool: true).ForwardElementsPerImage);
    }

    [Fact]
    public void It_grows_with_the_activations_and_not_with_the_weights()
    {
        var small = Build(channels: 4, kernel: 3, pool: false);

        Assert.True(Build(channels: 16, kernel: 3, pool: false).ForwardElementsPerImage > small.ForwardElementsPerImage);
        Assert.True(Build(channels: 4, kernel: 3, pool: false, size: 16).ForwardElementsPerImage == 4 * small.ForwardElementsPerImage);
        Assert.Equal(small.ForwardElementsPerImage, Build(channels: 4, kernel: 5, pool: false).ForwardElementsPerImage);
    }
}
