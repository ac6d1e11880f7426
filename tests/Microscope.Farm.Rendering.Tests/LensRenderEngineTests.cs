using System.Text.Json;
using Microscope.Farm.Storage;
using Microscope.Inference;
using Microscope.Lenses;
using Microscope.Lenses.DatasetExamples;
using Microscope.Onnx;
using Microscope.Organisms;
using Microscope.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using SkiaSharp;

namespace Microscope.Farm.Rendering.Tests;

/// <summary>The lens engine on a small real model: every lens stored where the paths say, nothing rendered twice.</summary>
public sealed class LensRenderEngineTests : IDisposable
{
    private readonly string folder = Path.Combine(Path.GetTempPath(), "microscope-render-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly FileSystemLensStore store;
    private readonly ModelInfo model;
    private readonly string dataset;
    private readonly LensRenderEngine engine;

    public LensRenderEngineTests()
    {
        Directory.CreateDirectory(folder);
        store = new FileSystemLensStore(Path.Combine(folder, "lenses"));
        var path = Path.Combine(folder, "small.onnx");
        File.WriteAllBytes(path, OnnxModelFile.ToBytes(TinyModel.SmallCnn(size: 32)));
        model = ModelPackages.PublishAsync(store, OrganismRegistry.Default.Resolve(path)).GetAwaiter().GetResult();
        dataset = Path.Combine(folder, "images");
        Directory.CreateDirectory(dataset);
        for (var i = 0; i < 10; i++)
        {
            File.WriteAllBytes(Path.Combine(dataset, $"img{i}.png"), Png.Encode(Noise(i, 32), 32, 32));
        }

        File.WriteAllText(Path.Combine(dataset, "broken.png"), "not an image");
        engine = Engine(Path.Combine(folder, "journal"));
    }

    public void Dispose() => Directory.Delete(folder, recursive: true);

    private LensRenderEngine Engine(string? journal) => new(store,
        new ModelCache(store, Path.Combine(folder, "cache-" + Guid.NewGuid().ToString("N")[..4]), new SessionSettings(), NullLogger<ModelCache>.Instance),
        new RenderEngineOptions { Datasets = new Dictionary<string, string> { ["default"] = dataset }, JournalFolder = journal, ScanBatch = 4 });

    private WorkItem Item(string lens, IReadOnlyList<int> units, string? layer = null, WorkKind kind = WorkKind.Render, int shard = 0, int shards = 1) =>
        new("job-1", 0, kind, model.Id, model.Version, layer ?? model.Layers[4].Id, lens, units,
            new LensOptions { Steps = 6, Size = 32, DiversityImages = 2, Top = 3 }.For(lens), shard, shards, []);

    [Fact]
    public async Task Publishing_twice_is_one_version_with_its_files_and_catalog()
    {
        var again = await ModelPackages.PublishAsync(store, OrganismRegistry.Default.Resolve(Path.Combine(folder, "small.onnx")));
        Assert.Equal(model.Version, again.Version);
        Assert.Matches("^[0-9a-f]{16}$", model.Version);
        Assert.Equal(8, model.Layers.Count);
        Assert.Equal(47, model.TotalUnits);
        Assert.Equal(FarmLenses.All.Select(l => l.Name), model.Lenses);
        foreach (var file in new[] { ModelPackages.ModelFile, ModelPackages.ManifestFile, ModelPackages.CatalogFile })
        {
            Assert.True(await store.ExistsAsync(LensPaths.Model(model.Id, model.Version, file)), file);
        }
    }

    [Theory]
    [InlineData("featurevis")]
    [InlineData("neuron")]
    [InlineData("negative")]
    [InlineData("diversity")]
    [InlineData("tuning")]
    public async Task Unit_lenses_are_stored_as_png_and_json_with_their_figures(string lens)
    {
        var item = Item(lens, [0, 2]);
        var result = await engine.RenderAsync(item, null, CancellationToken.None);

        Assert.True(result.Rendered);
        Assert.Equal([0, 2], result.Lenses.Select(l => l.Unit));
        foreach (var record in result.Lenses)
        {
            Assert.Equal(LensPaths.UnitLens(model.Id, model.Version, item.Layer, record.Unit, lens, item.Options.Hash(), "png"), record.ImagePath);
            using var bitmap = SKBitmap.Decode((await store.GetAsync(record.ImagePath))!.Content.ToArray());
            Assert.True(bitmap.Width > 0);
            using var json = JsonDocument.Parse((await store.GetAsync(record.DataPath!))!.Content);
            Assert.Equal(lens, json.RootElement.GetProperty("lens").GetString());
            Assert.Equal(record.Unit, json.RootElement.GetProperty("unit").GetInt32());
            Assert.NotEmpty(record.Quality);
        }
    }

    [Theory]
    [InlineData("deepdream")]
    [InlineData("caricature")]
    public async Task Layer_lenses_are_stored_once_for_the_layer(string lens)
    {
        var result = await engine.RenderAsync(Item(lens, []), null, CancellationToken.None);
        var record = Assert.Single(result.Lenses);
        Assert.Equal(-1, record.Unit);
        Assert.Contains($"/layers/{model.Layers[4].Id}/{lens}/", record.ImagePath, StringComparison.Ordinal);
        Assert.True(await store.ExistsAsync(record.ImagePath));
    }

    [Fact]
    public async Task An_item_whose_outputs_are_stored_is_not_rendered_again()
    {
        var journal = Path.Combine(folder, "journal");
        var first = await engine.RenderAsync(Item("featurevis", [1, 3]), null, CancellationToken.None);
        var second = await Engine(journal).RenderAsync(Item("featurevis", [1, 3]), null, CancellationToken.None);

        Assert.True(first.Rendered);
        Assert.False(second.Rendered);
        Assert.Equal(first.Lenses.Select(l => (l.ImagePath, l.Quality["objectiveAfter"])), second.Lenses.Select(l => (l.ImagePath, l.Quality["objectiveAfter"])));
        Assert.Single(Directory.GetFiles(journal).SelectMany(File.ReadAllLines));
    }

    [Fact]
    public async Task Dataset_shards_merged_equal_one_unsharded_scan()
    {
        var layer = model.Layers[4];
        foreach (var shard in new[] { 0, 1, 2 })
        {
            await engine.RenderAsync(Item("dataset-examples", [], layer.Id, WorkKind.DatasetShard, shard, 3), null, CancellationToken.None);
        }

        var merged = await engine.RenderAsync(Item("dataset-examples", [0, 1, 2, 3, 4, 5], layer.Id, WorkKind.DatasetMerge, 0, 3), null, CancellationToken.None);

        var loaded = await new ModelCache(store, Path.Combine(folder, "cache-x"), new SessionSettings(), NullLogger<ModelCache>.Instance).GetAsync(model.Id, model.Version);
        var whole = DatasetScanner.Scan(loaded.Vision, [loaded.Layer(layer.Id)], dataset, DatasetScanner.Files(dataset), loaded.ForwardSize, 3, 4, loaded.Sessions);
        Assert.Equal(10, (int)merged.Lenses[0].Quality["images"]);
        Assert.Equal(1, (int)merged.Lenses[0].Quality["skipped"]);
        foreach (var record in merged.Lenses)
        {
            var expected = whole.Layers[0].Units[record.Unit];
            using var json = JsonDocument.Parse((await store.GetAsync(record.DataPath!))!.Content);
            var top = json.RootElement.GetProperty("data").GetProperty("top").EnumerateArray().Select(e => (e.GetProperty("image").GetString()!, e.GetProperty("activation").GetDouble())).ToList();
            Assert.Equal(expected.Top.Select(e => (e.Image, e.Activation)), top);
            Assert.Equal(expected.Mean, record.Quality["mean"], 9);
            Assert.Equal(expected.StandardDeviation, record.Quality["std"], 9);
        }
    }

    [Fact]
    public async Task An_unknown_dataset_is_a_request_error_not_a_retry()
    {
        var item = Item("dataset-examples", [], null, WorkKind.DatasetShard, 0, 2) with { Options = new LensOptions { Dataset = "nowhere" }.For("dataset-examples") };
        var error = await Assert.ThrowsAsync<RenderInputException>(() => engine.RenderAsync(item, null, CancellationToken.None));
        Assert.Contains("no dataset 'nowhere'", error.Message);
    }

    [Fact]
    public async Task The_simulated_engine_takes_its_time_and_stores_valid_images()
    {
        var simulated = new SimulatedRenderEngine(store, TimeSpan.FromMilliseconds(50));
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var result = await simulated.RenderAsync(Item("featurevis", [7, 8], model.Layers[5].Id), null, CancellationToken.None);

        Assert.True(watch.ElapsedMilliseconds >= 45);
        Assert.Equal(2, result.Lenses.Count);
        using var bitmap = SKBitmap.Decode((await store.GetAsync(result.Lenses[0].ImagePath))!.Content.ToArray());
        Assert.Equal(8, bitmap.Width);
        Assert.False((await simulated.RenderAsync(Item("featurevis", [7, 8], model.Layers[5].Id), null, CancellationToken.None)).Rendered);
    }

    private static float[] Noise(int seed, int size)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, 3 * size * size).Select(_ => (float)random.NextDouble())];
    }
}
