using Microscope.Testing;

namespace Microscope.Cli.Tests;

public sealed class RenderCommandTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("microscope-render-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    private string SmallModel()
    {
        var path = Path.Combine(folder, "small.onnx");
        File.WriteAllBytes(path, Google.Protobuf.MessageExtensions.ToByteArray(TinyModel.SmallCnn()));
        return path;
    }

    private string FirstConvLayer(string model)
    {
        var inspect = CliRun.Of("models", "inspect", model, "--json");
        using var json = System.Text.Json.JsonDocument.Parse(inspect.Output);
        return json.RootElement.GetProperty("layers").EnumerateArray().First(l => l.GetProperty("op").GetString() == "Conv").GetProperty("id").GetString()!;
    }

    [Fact]
    public void Render_writes_a_png_and_its_figures_per_unit_and_a_contact_sheet()
    {
        var model = SmallModel();
        var layer = FirstConvLayer(model);
        var output = Path.Combine(folder, "out");

        var run = CliRun.Of("render", model, "--layer", layer, "--units", "0-2", "--steps", "4", "--size", "32", "--out", output);

        Assert.Equal(0, run.ExitCode);
        var layerFolder = Path.Combine(output, "small", layer);
        for (var unit = 0; unit < 3; unit++)
        {
            var png = File.ReadAllBytes(Path.Combine(layerFolder, $"{unit}-featurevis.png"));
            Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
            using var figures = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(layerFolder, $"{unit}-featurevis.json")));
            Assert.Equal(unit, figures.RootElement.GetProperty("unit").GetInt32());
            Assert.Equal("featurevis", figures.RootElement.GetProperty("lens").GetString());
            Assert.Equal(4, figures.RootElement.GetProperty("options").GetProperty("steps").GetInt32());
            Assert.Equal(16, figures.RootElement.GetProperty("quality").GetProperty("transformDraws").GetInt32());
            Assert.True(double.IsFinite(figures.RootElement.GetProperty("quality").GetProperty("objectiveUnderTransforms").GetDouble()));
            Assert.Single(figures.RootElement.GetProperty("data").GetProperty("images").EnumerateArray());
        }

        Assert.True(File.Exists(Path.Combine(layerFolder, "featurevis-sheet.png")));
        Assert.DoesNotContain(Directory.EnumerateFiles(layerFolder), f => f.EndsWith(".tmp", StringComparison.Ordinal));
    }

    [Fact]
    public void On_a_cuda_device_without_its_libraries_one_warning_names_the_missing_one_and_the_render_runs_on_cpu()
    {
        var model = SmallModel();
        var layer = FirstConvLayer(model);
        var output = Path.Combine(folder, "gpu");

        var run = CliRun.Of("render", model, "--layer", layer, "--unit", "1", "--steps", "3", "--size", "32", "--device", "cuda:0", "--out", output);

        Assert.Equal(0, run.ExitCode);
        var warning = Assert.Single(run.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("warning: cuda:0 unavailable:", warning);
        Assert.Contains("falling back to CPU", warning);
        Assert.True(File.Exists(Path.Combine(output, "small", layer, "1-featurevis.png")));
    }

    [Fact]
    public void The_device_resident_loop_renders_the_same_picture_as_the_host_loop()
    {
        var model = SmallModel();
        var layer = FirstConvLayer(model);
        string[] Render(string loop) => ["render", model, "--layer", layer, "--unit", "2", "--steps", "4", "--size", "32", "--loop", loop, "--out", Path.Combine(folder, loop)];

        Assert.Equal(0, CliRun.Of(Render("host")).ExitCode);
        Assert.Equal(0, CliRun.Of(Render("device")).ExitCode);
        double Figure(string loop) => System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, loop, "small", layer, "2-featurevis.json"))).RootElement.GetProperty("quality").GetProperty("objectiveAfter").GetDouble();
        Assert.Equal(Figure("host"), Figure("device"), 3);
        CliRun.Of("render", model, "--layer", layer, "--loop", "gpu", "--out", folder).AssertBadInput("gpu");
        CliRun.Of("render", model, "--layer", layer, "--device", "tpu:0", "--out", folder).AssertBadInput("tpu:0");
    }

    [Fact]
    public void Batch_auto_sizes_the_passes_to_free_memory_and_says_so()
    {
        var model = SmallModel();
        var layer = FirstConvLayer(model);
        var output = Path.Combine(folder, "auto");

        var run = CliRun.Of("render", model, "--layer", layer, "--units", "0-2", "--steps", "3", "--size", "32", "--batch", "auto", "--out", output);

        Assert.Equal(0, run.ExitCode);
        Assert.Contains("passes: 3 images per pass of 3", run.Output);
        Assert.Contains("free at start on cpu", run.Output);
        Assert.True(File.Exists(Path.Combine(output, "small", layer, "2-featurevis.json")));
        CliRun.Of("render", model, "--layer", layer, "--batch", "most", "--out", output).AssertBadInput("--batch", "most");
    }

    [Fact]
    public void A_unit_range_beyond_the_layer_is_bad_input()
    {
        var model = SmallModel();
        var layer = FirstConvLayer(model);

        CliRun.Of("render", model, "--layer", layer, "--units", "0-40", "--out", Path.Combine(folder, "out")).AssertBadInput("40", "units");
    }

    [Fact]
    public void An_unknown_lens_is_bad_input()
    {
        var run = CliRun.Of("render", "resnet18", "--layer", "conv1", "--lens", "xray", "--out", folder);
        Assert.Equal(CliApp.BadInput, run.ExitCode);
        Assert.Contains("xray", run.Error);
    }
}

public sealed class LayerLensCommandTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("microscope-dream-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    [Fact]
    public void A_resnet18_feature_visualization_renders_in_a_few_steps()
    {
        var run = CliRun.Of("render", "resnet18", "--layer", "layer3.0.relu", "--units", "0-1", "--steps", "2", "--out", folder);

        Assert.Equal(0, run.ExitCode);
        Assert.True(File.Exists(Path.Combine(folder, "resnet18", "layer3.0.relu", "1-featurevis.png")));
        Assert.True(File.Exists(Path.Combine(folder, "resnet18", "layer3.0.relu", "featurevis-sheet.png")));
    }

    [Fact]
    public void Deepdream_writes_one_image_for_the_layer_and_its_json()
    {
        var run = CliRun.Of("render", "resnet18", "--layer", "layer2.0.relu", "--lens", "deepdream", "--steps", "2", "--out", folder);

        Assert.Equal(0, run.ExitCode);
        Assert.True(File.Exists(Path.Combine(folder, "resnet18", "layer2.0.relu", "deepdream.png")));
        using var data = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "resnet18", "layer2.0.relu", "deepdream.json")));
        Assert.Equal("deepdream", data.RootElement.GetProperty("lens").GetString());
        Assert.Equal("built-in", data.RootElement.GetProperty("data").GetProperty("seedImage").GetString());
        Assert.Equal(2, data.RootElement.GetProperty("options").GetProperty("steps").GetInt32());
        Assert.False(data.RootElement.TryGetProperty("unit", out _));
    }

    [Fact]
    public void A_corrupt_seed_image_is_bad_input()
    {
        var image = Path.Combine(folder, "photo.jpg");
        File.WriteAllText(image, "not really a photo");

        CliRun.Of("render", "resnet18", "--layer", "layer2.0.relu", "--lens", "caricature", "--image", image, "--out", folder).AssertBadInput(image, "not a readable image");
    }
}

public sealed class DatasetExamplesCommandTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("microscope-examples-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    [Fact]
    public void Dataset_examples_write_a_mosaic_and_json_per_unit_and_count_unreadable_files()
    {
        var images = Path.Combine(folder, "images");
        Directory.CreateDirectory(images);
        var random = new Random(2);
        for (var i = 0; i < 6; i++)
        {
            File.WriteAllBytes(Path.Combine(images, $"{i}.png"), Lenses.Png.Encode([.. Enumerable.Range(0, 3 * 24 * 24).Select(_ => (float)random.NextDouble())], 24, 24));
        }

        File.WriteAllText(Path.Combine(images, "bad.png"), "garbage");
        var model = Path.Combine(folder, "small.onnx");
        File.WriteAllBytes(model, Google.Protobuf.MessageExtensions.ToByteArray(TinyModel.SmallCnn()));
        var inspect = CliRun.Of("models", "inspect", model, "--json");
        using var json = System.Text.Json.JsonDocument.Parse(inspect.Output);
        var layer = json.RootElement.GetProperty("layers")[0].GetProperty("id").GetString()!;

        var run = CliRun.Of("render", model, "--layer", layer, "--lens", "dataset-examples", "--dataset", images, "--top", "3", "--out", Path.Combine(folder, "out"));

        Assert.Equal(0, run.ExitCode);
        Assert.Contains("6 images scanned, 1 skipped", run.Output.Replace("\n", " "));
        var layerFolder = Path.Combine(folder, "out", "small", layer);
        using var figures = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(layerFolder, "0-dataset-examples.json")));
        Assert.Equal(3, figures.RootElement.GetProperty("data").GetProperty("top").GetArrayLength());
        Assert.True(File.Exists(Path.Combine(layerFolder, "0-dataset-examples.png")));
        using var statistics = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(layerFolder, "dataset-examples-statistics.json")));
        Assert.Equal(6, statistics.RootElement.GetProperty("images").GetInt32());
        Assert.Equal(["bad.png"], statistics.RootElement.GetProperty("skipped").EnumerateArray().Select(e => e.GetString()));

        // A feature visualization rendered afterwards into the same folder is compared with the top example.
        var render = CliRun.Of("render", model, "--layer", layer, "--unit", "0", "--steps", "3", "--size", "24", "--out", Path.Combine(folder, "out"));
        Assert.Equal(0, render.ExitCode);
        using var quality = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(layerFolder, "0-featurevis.json")));
        var top = figures.RootElement.GetProperty("data").GetProperty("top")[0].GetProperty("activation").GetDouble();
        var expected = quality.RootElement.GetProperty("data").GetProperty("images")[0].GetProperty("spatialMaximum").GetDouble() / top;
        Assert.Equal(expected, quality.RootElement.GetProperty("quality").GetProperty("ratioToTopDatasetExample").GetDouble(), 6);
    }

    [Fact]
    public void Dataset_examples_without_a_dataset_is_bad_input() =>
        CliRun.Of("render", "resnet18", "--layer", "conv1", "--lens", "dataset-examples", "--out", folder).AssertBadInput("--dataset");
}

public sealed class TuningCommandTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("microscope-tuning-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    [Fact]
    public void Tuning_writes_a_plot_and_the_curve_per_unit()
    {
        var run = CliRun.Of("render", "resnet18", "--layer", "layer1.0.relu1", "--lens", "tuning", "--family", "hue", "--units", "3", "--out", folder);

        Assert.Equal(0, run.ExitCode);
        var layerFolder = Path.Combine(folder, "resnet18", "layer1.0.relu1");
        using var curve = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(layerFolder, "3-tuning-hue.json")));
        Assert.Equal(36, curve.RootElement.GetProperty("data").GetProperty("responses").GetArrayLength());
        Assert.Equal("hue", curve.RootElement.GetProperty("options").GetProperty("family").GetString());
        Assert.True(File.Exists(Path.Combine(layerFolder, "3-tuning-hue.png")));
    }
}
