using System.Text.Json;
using Microscope.Onnx;
using Microscope.Onnx.Proto;
using Microscope.Testing;

namespace Microscope.Cli.Tests;

/// <summary>
/// `render --lens weights` and the neuron default of layers affine in the image, on a model built
/// in code whose first layer is a bare convolution (affine in the image) followed by max pooling.
/// </summary>
public sealed class WeightsCommandTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("microscope-weights-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    private (string Path, ModelProto Model) FirstConvModel()
    {
        var m = new TinyModel();
        var x = m.Input("x", -1, 3, 16, 16);
        var conv = m.Conv(x, 3, 4);
        m.Output(m.Relu(m.Conv(m.MaxPool(conv), 4, 4)));
        var model = m.Build();
        var path = Path.Combine(folder, "firstconv.onnx");
        File.WriteAllBytes(path, OnnxModelFile.ToBytes(model));
        return (path, model);
    }

    private static (string Conv, string Pool) Layers(string model)
    {
        using var json = JsonDocument.Parse(CliRun.Of("models", "inspect", model, "--json").Output);
        var layers = json.RootElement.GetProperty("layers").EnumerateArray().ToList();
        return (layers[0].GetProperty("id").GetString()!, layers[1].GetProperty("id").GetString()!);
    }

    /// <summary>The image reaches the first convolution unchanged (RGB in [0, 1], no mean or std), so each kernel read from the gradient is the convolution's weights, exactly.</summary>
    [Fact]
    public void Weights_of_a_first_convolution_are_its_kernels_with_the_colour_scale_stated()
    {
        var (path, model) = FirstConvModel();
        var (conv, _) = Layers(path);
        var weights = Tensors.ToFloats(model.Graph.Initializer.Single(t => t.Dims.SequenceEqual([4L, 3, 3, 3])));
        var output = Path.Combine(folder, "out");

        var run = CliRun.Of("render", path, "--layer", conv, "--lens", "weights", "--units", "0-3", "--out", output);

        Assert.Equal(0, run.ExitCode);
        for (var unit = 0; unit < 4; unit++)
        {
            using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "firstconv", conv, $"{unit}-weights.json")));
            var kernel = json.RootElement.GetProperty("data").GetProperty("kernel");
            Assert.Equal((3, 3), (kernel.GetProperty("height").GetInt32(), kernel.GetProperty("width").GetInt32()));
            var read = kernel.GetProperty("weights").EnumerateArray().Select(w => w.GetDouble()).ToArray();
            var expected = weights[(unit * 27)..((unit + 1) * 27)];
            Assert.All(read.Zip(expected), p => Assert.Equal(p.Second, p.First, 4));
            var scale = json.RootElement.GetProperty("data").GetProperty("colourScale");
            Assert.Equal(expected.Max(Math.Abs), scale.GetProperty("scale").GetDouble(), 4);
            Assert.Contains("grey is 0", scale.GetProperty("mapping").GetString());
            var png = File.ReadAllBytes(Path.Combine(output, "firstconv", conv, $"{unit}-weights.png"));
            Assert.Equal((3 * 16, 3 * 16), (System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)), System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20))));
        }
    }

    /// <summary>resnet18's conv1 is 7×7 with its preprocessing (colour order, 0–255 range, mean image) folded in: each kernel is read whole, inside the image.</summary>
    [Fact]
    public void Resnet18_conv1_kernels_are_seven_by_seven()
    {
        var output = Path.Combine(folder, "resnet");

        var run = CliRun.Of("render", "resnet18", "--layer", "conv1", "--lens", "weights", "--units", "0-1", "--out", output);

        Assert.Equal(0, run.ExitCode);
        for (var unit = 0; unit < 2; unit++)
        {
            using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "resnet18", "conv1", $"{unit}-weights.json")));
            var kernel = json.RootElement.GetProperty("data").GetProperty("kernel");
            Assert.Equal((7, 7), (kernel.GetProperty("height").GetInt32(), kernel.GetProperty("width").GetInt32()));
            Assert.Equal(3 * 7 * 7, kernel.GetProperty("weights").GetArrayLength());
            Assert.True(json.RootElement.GetProperty("data").GetProperty("colourScale").GetProperty("scale").GetDouble() > 0);
        }
    }

    [Fact]
    public void A_layer_with_a_nonlinearity_before_it_has_no_weights_lens()
    {
        var (path, _) = FirstConvModel();
        var (conv, pool) = Layers(path);

        var run = CliRun.Of("render", path, "--layer", pool, "--lens", "weights", "--out", Path.Combine(folder, "out"));

        run.AssertBadInput("has no weights lens", $"here: {conv}");
    }

    [Fact]
    public void Feature_visualization_of_an_affine_layer_maximizes_its_centre_neuron_and_says_why()
    {
        var (path, _) = FirstConvModel();
        var (conv, pool) = Layers(path);
        var output = Path.Combine(folder, "out");

        Assert.Equal(0, CliRun.Of("render", path, "--layer", conv, "--unit", "1", "--steps", "2", "--size", "16", "--out", output).ExitCode);
        Assert.Equal(0, CliRun.Of("render", path, "--layer", pool, "--unit", "1", "--steps", "2", "--size", "16", "--out", output).ExitCode);

        using var affine = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "firstconv", conv, "1-featurevis.json")));
        Assert.Equal("neuron", affine.RootElement.GetProperty("data").GetProperty("objective").GetString());
        Assert.Contains("affine in the image", affine.RootElement.GetProperty("data").GetProperty("reason").GetString());
        using var pooled = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "firstconv", pool, "1-featurevis.json")));
        Assert.False(pooled.RootElement.GetProperty("data").TryGetProperty("objective", out var objective) && objective.ValueKind != JsonValueKind.Null);
    }
}
