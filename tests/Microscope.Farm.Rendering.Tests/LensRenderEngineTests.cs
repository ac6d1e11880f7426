using System.Text.Json;
using Microscope.Farm.Storage;
using SkiaSharp;

namespace Microscope.Farm.Rendering.Tests;

/// <summary>The lens engine on a small real model: every lens stored where the paths say, with its figures, and nothing rendered twice.</summary>
public sealed class LensRenderEngineTests(RenderFixture fixture) : IClassFixture<RenderFixture>
{
    private readonly ILensStore store = fixture.Store;

    [Theory]
    [InlineData("featurevis", "objectiveAfter")]
    [InlineData("neuron", "objectiveAfter")]
    [InlineData("negative", "objectiveAfter")]
    [InlineData("diversity", "objectiveAfter")]
    [InlineData("tuning", "peak")]
    public async Task Unit_lenses_are_stored_as_png_and_json_with_their_figures(string lens, string figure)
    {
        var item = fixture.Item(lens, [0, 2]);
        var result = await fixture.Engine().RenderAsync(item, null, CancellationToken.None);

        Assert.True(result.Rendered);
        Assert.Equal([0, 2], result.Lenses.Select(l => l.Unit));
        foreach (var record in result.Lenses)
        {
            var hash = item.Options.For(lens).Hash();
            Assert.Equal(hash, record.OptionsHash);
            Assert.Equal(LensPaths.UnitLens(fixture.Model.Id, fixture.Model.Version, item.Layer, record.Unit, lens, hash, "png"), record.ImagePath);
            Assert.Equal(LensPaths.UnitLens(fixture.Model.Id, fixture.Model.Version, item.Layer, record.Unit, lens, hash, "json"), record.DataPath);
            var (width, _) = await DecodeAsync(record.ImagePath);
            Assert.True(width > 0);

            using var json = JsonDocument.Parse((await store.GetAsync(record.DataPath!))!.Content);
            var root = json.RootElement;
            Assert.Equal(lens, root.GetProperty("lens").GetString());
            Assert.Equal(record.Unit, root.GetProperty("unit").GetInt32());
            Assert.Equal(fixture.Model.Version, root.GetProperty("modelVersion").GetString());
            Assert.Equal(record.Quality[figure], root.GetProperty("quality").GetProperty(figure).GetDouble());
            Assert.True(double.IsFinite(record.Quality[figure]));
        }
    }

    /// <summary>The small model's layers all follow a Relu: none has a kernel over the image, and the item fails for good, saying so.</summary>
    [Fact]
    public async Task The_weights_lens_of_a_layer_after_a_nonlinearity_is_refused()
    {
        var error = await Assert.ThrowsAsync<RenderInputException>(() => fixture.Engine().RenderAsync(fixture.Item("weights", [0]), null, CancellationToken.None));

        Assert.Contains("has no weights lens", error.Message);
    }

    [Fact]
    public async Task Feature_visualizations_climb_their_objective_and_record_each_images_figures()
    {
        var result = await fixture.Engine().RenderAsync(fixture.Item("diversity", [1], seed: 2), null, CancellationToken.None);
        var record = Assert.Single(result.Lenses);

        Assert.True(record.Quality["objectiveAfter"] > record.Quality["objectiveBefore"]);
        Assert.Equal(6 * 1, result.OptimizationSteps);

        // A sheet of the unit's two images side by side (4-pixel gaps); each image's figures in the data.
        var (width, height) = await DecodeAsync(record.ImagePath);
        Assert.Equal((2 * (RenderFixture.Size + 4)) + 4, width);
        Assert.Equal(RenderFixture.Size + 8, height);
        using var json = JsonDocument.Parse((await store.GetAsync(record.DataPath!))!.Content);
        var images = json.RootElement.GetProperty("data").GetProperty("images");
        Assert.Equal(2, images.GetArrayLength());
        Assert.All(images.EnumerateArray(), i => Assert.True(i.GetProperty("spatialMaximum").GetDouble() is var m && double.IsFinite(m)));
    }

    [Theory]
    [InlineData("deepdream", "size")]
    [InlineData("caricature", "objectiveAfter")]
    public async Task Layer_lenses_are_stored_once_for_the_layer(string lens, string figure)
    {
        var item = fixture.Item(lens, []);
        var result = await fixture.Engine().RenderAsync(item, null, CancellationToken.None);

        var record = Assert.Single(result.Lenses);
        Assert.Equal(-1, record.Unit);
        Assert.Equal(LensPaths.LayerLens(fixture.Model.Id, fixture.Model.Version, item.Layer, lens, item.Options.Hash(), "png"), record.ImagePath);
        Assert.True((await DecodeAsync(record.ImagePath)).Width > 0);
        using var json = JsonDocument.Parse((await store.GetAsync(record.DataPath!))!.Content);
        Assert.False(json.RootElement.TryGetProperty("unit", out _));
        Assert.True(double.IsFinite(record.Quality[figure]));
    }

    [Fact]
    public async Task An_item_whose_outputs_are_stored_is_not_rendered_again()
    {
        var journal = fixture.NewFolder("journal");
        var item = fixture.Item("featurevis", [1, 3], seed: 3);
        var first = await fixture.Engine(journal).RenderAsync(item, null, CancellationToken.None);
        var steps = new List<int>();
        var second = await fixture.Engine(journal).RenderAsync(item, new SynchronousProgress(steps.Add), CancellationToken.None);

        Assert.True(first.Rendered);
        Assert.False(second.Rendered);
        Assert.Empty(steps);
        Assert.Equal(first.Lenses.Select(l => (l.Unit, l.ImagePath, l.DataPath, l.OptionsHash, l.Quality["objectiveAfter"])),
            second.Lenses.Select(l => (l.Unit, l.ImagePath, l.DataPath, l.OptionsHash, l.Quality["objectiveAfter"])));

        // One journal line, for the render; its fields name the item.
        var line = Assert.Single(RenderJournal.Read(journal));
        Assert.Equal(["job-1", "0", "Render", item.Layer, "featurevis", "1,3"], line[2..8]);
        Assert.Equal(Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture), line[1]);
    }

    [Fact]
    public async Task A_partly_stored_item_is_rendered_and_reports_every_unit()
    {
        var engine = fixture.Engine();
        await engine.RenderAsync(fixture.Item("neuron", [4], seed: 4), null, CancellationToken.None);

        var both = await engine.RenderAsync(fixture.Item("neuron", [4, 5], seed: 4), null, CancellationToken.None);

        Assert.True(both.Rendered);
        Assert.Equal([4, 5], both.Lenses.Select(l => l.Unit));
        Assert.True(await store.ExistsAsync(both.Lenses[1].DataPath!));
    }

    [Fact]
    public async Task Options_a_lens_ignores_do_not_change_its_stored_name()
    {
        var item = fixture.Item("featurevis", [0], seed: 5);
        var noisy = item with { Options = item.Options with { Top = 99, Family = "hue", DiversityImages = 7 } };

        var result = await fixture.Engine().RenderAsync(noisy, null, CancellationToken.None);

        Assert.Equal(item.Options.Hash(), result.Lenses[0].OptionsHash);
        Assert.Equal(item.Options, result.Lenses[0].Options);
    }

    [Fact]
    public async Task A_model_version_missing_from_the_store_is_not_found()
    {
        var item = fixture.Item("featurevis", [0]) with { ModelVersion = "0123456789abcdef" };
        var error = await Assert.ThrowsAsync<FarmNotFoundException>(() => fixture.Engine().RenderAsync(item, null, CancellationToken.None));
        Assert.Contains("0123456789abcdef", error.Message);
    }

    [Fact]
    public async Task Cancellation_stops_a_render_and_stores_nothing()
    {
        using var cancel = new CancellationTokenSource();
        var item = fixture.Item("featurevis", [3], seed: 6);
        item = item with { Options = item.Options with { Steps = 10_000 } };
        var render = fixture.Engine().RenderAsync(item, new SynchronousProgress(_ => cancel.Cancel()), cancel.Token);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => render);
        Assert.False(await store.ExistsAsync(StoredRenderEngine.Outputs(item)[0].Data));
    }

    private async Task<(int Width, int Height)> DecodeAsync(string path)
    {
        using var bitmap = SKBitmap.Decode((await store.GetAsync(path))!.Content.ToArray());
        Assert.NotNull(bitmap);
        return (bitmap.Width, bitmap.Height);
    }

    private sealed class SynchronousProgress(Action<int> report) : IProgress<int>
    {
        public void Report(int value) => report(value);
    }
}
