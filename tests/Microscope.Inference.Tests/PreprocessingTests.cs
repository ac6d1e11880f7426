using Microscope.Onnx;
using Microscope.Testing;
using Microsoft.ML.OnnxRuntime;

namespace Microscope.Inference.Tests;

/// <summary>The preprocessing folded into the graph computes what the manifest says, checked on ONNX Runtime.</summary>
public sealed class PreprocessingTests
{
    private const int Size = 4;

    private static TinyModel Passthrough(string layout = "NCHW")
    {
        var m = new TinyModel();
        var x = layout == "NCHW" ? m.Input("x", -1, 3, Size, Size) : m.Input("x", -1, Size, Size, 3);
        m.Output(m.Op("Identity", x));
        return m;
    }

    private static float[] Run(VisionGraph vision, float[] image, int batch, int height = Size, int width = Size)
    {
        using var session = new InferenceSession(OnnxModelFile.ToBytes(vision.Model));
        using var value = OrtValue.CreateTensorValueFromMemory(image, [batch, 3, height, width]);
        using var results = session.Run(new RunOptions(), [VisionGraph.ImageInput], [value], [vision.Model.Graph.Output[0].Name]);
        return results[0].GetTensorDataAsSpan<float>().ToArray();
    }

    private static float[] Image(int batch, int height = Size, int width = Size) =>
        [.. Enumerable.Range(0, batch * 3 * height * width).Select(i => (float)((i * 37 % 101) / 100.0))];

    [Fact]
    public void Bgr_range_mean_and_std_are_applied_in_the_models_channel_order()
    {
        var spec = new InputSpec { ColorOrder = "BGR", Range = [0, 255], Mean = [100, 110, 120], Std = [50, 60, 70], Size = [Size, Size] };
        var vision = VisionGraph.Compose(Passthrough().Build(), spec, null, "test");
        var image = Image(1);

        var output = Run(vision, image, 1);

        var plane = Size * Size;
        for (var c = 0; c < 3; c++)
        {
            var source = 2 - c; // the model's channel c is BGR: it reads RGB channel 2 - c
            for (var i = 0; i < plane; i++)
            {
                var expected = ((image[(source * plane) + i] * 255) - spec.Mean[c]) / spec.Std[c];
                Assert.Equal(expected, output[(c * plane) + i], 3);
            }
        }
    }

    [Fact]
    public void A_channels_last_model_gets_an_nhwc_tensor()
    {
        var vision = VisionGraph.Compose(Passthrough("NHWC").Build(), new InputSpec { Layout = "NHWC", Size = [Size, Size] }, null, "test");
        var image = Image(1);

        var output = Run(vision, image, 1);

        for (var y = 0; y < Size; y++)
        {
            for (var x = 0; x < Size; x++)
            {
                for (var c = 0; c < 3; c++)
                {
                    Assert.Equal(image[(c * Size * Size) + (y * Size) + x], output[(((y * Size) + x) * 3) + c], 5);
                }
            }
        }
    }

    [Fact]
    public void A_batch_gives_each_image_the_result_it_gets_alone()
    {
        var vision = VisionGraph.Compose(TinyModel.SmallCnn(size: 8), new InputSpec { Size = [8, 8], Mean = [0.4, 0.5, 0.6] }, null, "test");
        var image = Image(3, 8, 8);

        var batched = Run(vision, image, 3, 8, 8);

        var per = batched.Length / 3;
        for (var n = 0; n < 3; n++)
        {
            var alone = Run(vision, image[(n * 3 * 64)..((n + 1) * 3 * 64)], 1, 8, 8);
            Assert.Equal(alone, batched[(n * per)..((n + 1) * per)]);
        }
    }

    [Fact]
    public void A_preprocessing_model_with_a_mean_image_adapts_to_any_size()
    {
        // A preprocessing model like ResNet's: subtract a mean image of a fixed 4×4 size.
        var prep = new TinyModel(opset: 8);
        var input = prep.Input("raw", 1, 3, Size, Size);
        var mean = prep.Constant([1, 3, Size, Size], [.. Enumerable.Range(0, 3 * Size * Size).Select(i => (double)i)]);
        prep.Output(prep.Op("Sub", [input, mean]));
        var vision = VisionGraph.Compose(Passthrough().Build(), new InputSpec { Size = [Size, Size], Range = [0, 255] }, prep.Build(), "test");
        var image = Image(1);

        var native = Run(vision, image, 1);
        for (var i = 0; i < native.Length; i++)
        {
            Assert.Equal((image[i] * 255) - i, native[i], 3);
        }

        // At another size the mean image is resized bilinearly: a constant mean image stays constant.
        var flat = new TinyModel(opset: 8);
        var raw = flat.Input("raw", 1, 3, Size, Size);
        flat.Output(flat.Op("Sub", [raw, flat.Constant([1, 3, Size, Size], [.. Enumerable.Repeat(10.0, 3 * Size * Size)])]));
        var resized = VisionGraph.Compose(Passthrough().Build(), new InputSpec { Size = [Size, Size], Range = [0, 255] }, flat.Build(), "test");
        var big = Image(2, 6, 10);
        var output = Run(resized, big, 2, 6, 10);
        Assert.Equal(big.Length, output.Length);
        for (var i = 0; i < big.Length; i++)
        {
            Assert.Equal((big[i] * 255) - 10, output[i], 3);
        }
    }

    [Fact]
    public void A_preprocessing_model_whose_size_disagrees_with_the_manifest_is_refused()
    {
        var prep = new TinyModel(opset: 8);
        var input = prep.Input("raw", 1, 3, 8, 8);
        prep.Output(prep.Op("Identity", input));

        var error = Assert.Throws<ModelFormatException>(() => VisionGraph.Compose(Passthrough().Build(), new InputSpec { Size = [Size, Size] }, prep.Build(), "test"));
        Assert.Contains("8×8", error.Message);
    }
}
