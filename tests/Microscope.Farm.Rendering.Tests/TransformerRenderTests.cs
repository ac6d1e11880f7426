using System.Text.Json;
using Microscope.Farm.Storage;
using Microscope.Onnx;
using Microscope.Testing;

namespace Microscope.Farm.Rendering.Tests;

/// <summary>The farm's lens engine on a tiny vision transformer: token layers and class tokens render like any feature map.</summary>
public sealed class TransformerRenderTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("microscope-vit-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    [Theory]
    [InlineData("(T·N),C", "featurevis")]
    [InlineData("(T·N),C token 0", "featurevis")]
    [InlineData("N,T,C", "neuron")]
    [InlineData("N,T,C", "tuning")]
    public async Task Token_layers_render_through_the_farm_engine(string layout, string lens)
    {
        var store = new FileSystemLensStore(Path.Combine(folder, "lenses"));
        var path = Path.Combine(folder, "vit.onnx");
        File.WriteAllBytes(path, OnnxModelFile.ToBytes(TinyTransformers.Vit()));
        var model = await ModelPackages.PublishFileAsync(store, path);
        var layer = model.Layers.Last(l => l.Layout == layout);
        var cache = new ModelCache(store, Path.Combine(folder, "cache"), new Inference.SessionSettings(), Microsoft.Extensions.Logging.Abstractions.NullLogger<ModelCache>.Instance, 2);
        var engine = new LensRenderEngine(store, cache, new RenderEngineOptions(), null);
        var item = new WorkItem("job-1", 0, WorkKind.Render, model.Id, model.Version, layer.Id, lens, [0, 1, 2],
            new LensOptions { Steps = 8, Size = 32, Seed = 1 }.For(lens), 0, 1, []);

        var result = await engine.RenderAsync(item, null, CancellationToken.None);

        Assert.True(result.Rendered);
        Assert.Equal([0, 1, 2], result.Lenses.Select(l => l.Unit));
        foreach (var record in result.Lenses)
        {
            using var json = JsonDocument.Parse((await store.GetAsync(record.DataPath!))!.Content);
            Assert.Equal(layer.Id, json.RootElement.GetProperty("layer").GetString());
            Assert.All(record.Quality.Values, v => Assert.True(double.IsFinite(v)));
            if (lens == "featurevis")
            {
                Assert.True(record.Quality["objectiveAfter"] > record.Quality["objectiveBefore"], $"{layer.Id} unit {record.Unit}");
            }
        }
    }
}
