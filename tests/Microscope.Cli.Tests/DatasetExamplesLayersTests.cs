using System.Text.Json;
using Microscope.Testing;

namespace Microscope.Cli.Tests;

/// <summary>`render --lens dataset-examples --layer all` and `--layers a,b`: one scan of the images for every layer asked.</summary>
public sealed class DatasetExamplesLayersTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("microscope-examples-layers-").FullName;

    public DatasetExamplesLayersTests()
    {
        Directory.CreateDirectory(Images);
        var random = new Random(5);
        for (var i = 0; i < 5; i++)
        {
            File.WriteAllBytes(Path.Combine(Images, $"{i}.png"), Lenses.Png.Encode([.. Enumerable.Range(0, 3 * 24 * 24).Select(_ => (float)random.NextDouble())], 24, 24));
        }

        File.WriteAllBytes(Model, Google.Protobuf.MessageExtensions.ToByteArray(TinyModel.SmallCnn()));
    }

    private string Images => Path.Combine(folder, "images");

    private string Model => Path.Combine(folder, "small.onnx");

    public void Dispose() => Directory.Delete(folder, recursive: true);

    private List<(string Id, int Units)> Layers()
    {
        using var json = JsonDocument.Parse(CliRun.Of("models", "inspect", Model, "--json").Output);
        return [.. json.RootElement.GetProperty("layers").EnumerateArray().Select(l => (l.GetProperty("id").GetString()!, l.GetProperty("units").GetInt32()))];
    }

    [Fact]
    public void Layer_all_writes_every_unit_of_every_layer_from_one_scan()
    {
        var layers = Layers();
        var run = CliRun.Of("render", Model, "--layer", "all", "--lens", "dataset-examples", "--dataset", Images, "--top", "2", "--out", Path.Combine(folder, "out"));

        Assert.Equal(0, run.ExitCode);
        Assert.Contains($"{layers.Count} layers", run.Output);
        foreach (var (id, units) in layers)
        {
            var layerFolder = Path.Combine(folder, "out", "small", id);
            Assert.Equal(units, Directory.GetFiles(layerFolder, "*-dataset-examples.png").Length);
            Assert.Equal(units, Directory.GetFiles(layerFolder, "*-dataset-examples.json").Length);
            using var statistics = JsonDocument.Parse(File.ReadAllText(Path.Combine(layerFolder, "dataset-examples-statistics.json")));
            Assert.Equal(5, statistics.RootElement.GetProperty("images").GetInt32());
            Assert.Equal(units, statistics.RootElement.GetProperty("units").GetArrayLength());
        }

        // The mosaics of all those units decoded each of the 5 images once.
        Assert.Contains("5 example images decoded", System.Text.RegularExpressions.Regex.Replace(run.Output, @"\s+", " "));
    }

    [Fact]
    public void Layers_a_b_with_units_render_the_units_each_layer_has()
    {
        var layers = Layers();
        var (narrow, wide) = (layers.MinBy(l => l.Units), layers.MaxBy(l => l.Units));
        var run = CliRun.Of("render", Model, "--layers", $"{narrow.Id},{wide.Id}", "--units", $"0,{wide.Units - 1}", "--lens", "dataset-examples", "--dataset", Images, "--out", Path.Combine(folder, "out"));

        Assert.Equal(0, run.ExitCode);
        Assert.Equal(["0-dataset-examples.json"], Directory.GetFiles(Path.Combine(folder, "out", "small", narrow.Id), "*-dataset-examples.json").Select(Path.GetFileName));
        Assert.Equal(2, Directory.GetFiles(Path.Combine(folder, "out", "small", wide.Id), "*-dataset-examples.json").Length);
        Assert.Equal(2, Directory.GetDirectories(Path.Combine(folder, "out", "small")).Length);
    }

    [Fact]
    public void Several_layers_are_for_dataset_examples_only_and_one_way_at_a_time()
    {
        CliRun.Of("render", Model, "--layers", "a,b", "--out", folder).AssertBadInput("dataset-examples");
        CliRun.Of("render", Model, "--layer", "all", "--lens", "tuning", "--out", folder).AssertBadInput("dataset-examples");
        CliRun.Of("render", Model, "--out", folder).AssertBadInput("--layer is required");
        CliRun.Of("render", Model, "--layer", "x", "--layers", "y", "--lens", "dataset-examples", "--dataset", Images, "--out", folder).AssertBadInput("not both");
        CliRun.Of("render", Model, "--layers", " , ", "--lens", "dataset-examples", "--dataset", Images, "--out", folder).AssertBadInput("names no layer");
    }
}
