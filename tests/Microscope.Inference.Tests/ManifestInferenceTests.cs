using Microscope.Organisms;
using Microscope.Testing;

namespace Microscope.Inference.Tests;

public sealed class ManifestInferenceTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("microscope-manifest-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    private string Save(long[] dims, string name = "model.onnx")
    {
        var m = new TinyModel();
        var x = m.Input("pixels", dims);
        m.Output(m.Relu(x));
        return m.Save(Path.Combine(folder, name));
    }

    [Fact]
    public void A_channels_first_model_with_a_fixed_size()
    {
        var manifest = ManifestInference.Infer(Save([1, 3, 96, 128]));

        Assert.Equal("NCHW", manifest.Input.Layout);
        Assert.Equal([96, 128], manifest.Input.Size);
        Assert.Equal("pixels", manifest.Input.Name);
        Assert.Equal("model", manifest.Id);
        Assert.Contains(manifest.Assumptions, a => a.Contains("read from the model", StringComparison.Ordinal));
        Assert.Contains(manifest.Assumptions, a => a.Contains("RGB in [0, 1]", StringComparison.Ordinal));
    }

    [Fact]
    public void A_channels_last_model_with_a_free_size()
    {
        var manifest = ManifestInference.Infer(Save([-1, -1, -1, 3], "My Net.onnx"));

        Assert.Equal("NHWC", manifest.Input.Layout);
        Assert.Equal([224, 224], manifest.Input.Size);
        Assert.Equal("my_net", manifest.Id);
        Assert.Contains(manifest.Assumptions, a => a.Contains("224×224 assumed", StringComparison.Ordinal));
    }

    [Fact]
    public void A_manifest_beside_the_model_is_used()
    {
        var path = Save([1, 3, 32, 32]);
        File.WriteAllText(Path.Combine(folder, "model.manifest.json"), """{ "id": "mine", "title": "Mine", "model": "model.onnx", "input": { "size": [32, 32], "colorOrder": "BGR" } }""");

        var manifest = new OrganismRegistry(folder).Resolve(path);

        Assert.Equal("mine", manifest.Id);
        Assert.Equal("BGR", manifest.Input.ColorOrder);
        Assert.Empty(manifest.Assumptions);
    }

    [Fact]
    public void A_malformed_manifest_is_named()
    {
        var path = Save([1, 3, 32, 32]);
        File.WriteAllText(Path.Combine(folder, "model.manifest.json"), """{ "id": "mine", "model": "model.onnx", "unknownField": 1 }""");

        var error = Assert.Throws<Onnx.ModelFormatException>(() => new OrganismRegistry(folder).Resolve(path));
        Assert.Contains("model.manifest.json", error.Message);
    }
}
