using System.Text.Json;
using Microscope.Farm.Storage;
using Microscope.Lenses.DatasetExamples;
using SkiaSharp;

namespace Microscope.Farm.Rendering.Tests;

/// <summary>Dataset examples as the farm renders them: shards scanned apart, merged into exactly what one scan finds.</summary>
public sealed class DatasetExamplesTests(RenderFixture fixture) : IClassFixture<RenderFixture>
{
    private readonly ILensStore store = fixture.Store;

    [Fact]
    public async Task Dataset_shards_merged_equal_one_unsharded_scan()
    {
        var journal = fixture.NewFolder("journal");
        var engine = fixture.Engine(journal);
        var layer = fixture.Layer;
        foreach (var shard in new[] { 2, 0, 1 })
        {
            var scanned = await engine.RenderAsync(fixture.Item("dataset-examples", [], top: 3, kind: WorkKind.DatasetShard, shard: shard, shards: 3), null, CancellationToken.None);
            Assert.True(scanned.Rendered);
            Assert.Empty(scanned.Lenses);
        }

        var units = Enumerable.Range(0, layer.Units).ToList();
        var mergeItem = fixture.Item("dataset-examples", units, top: 3, kind: WorkKind.DatasetMerge, shards: 3);
        var merged = await engine.RenderAsync(mergeItem, null, CancellationToken.None);

        var loaded = await fixture.Cache().GetAsync(fixture.Model.Id, fixture.Model.Version);
        var whole = DatasetScanner.Scan(loaded.Vision, [loaded.Layer(layer.Id)], fixture.Dataset, DatasetScanner.Files(fixture.Dataset), loaded.ForwardSize, 3, 4, loaded.Sessions);
        var field = whole.Layers[0].Field;
        Assert.True(merged.Rendered);
        Assert.Equal(units, merged.Lenses.Select(l => l.Unit));
        foreach (var record in merged.Lenses)
        {
            // The stored document is the CLI's document of the unsharded scan, to the last digit
            // but for the mean and deviation, which merge to rounding.
            var expected = whole.Layers[0].Units[record.Unit];
            using var json = JsonDocument.Parse((await store.GetAsync(record.DataPath!))!.Content);
            var data = json.RootElement.GetProperty("data");
            Assert.Equal(Examples(expected.Top), Examples(data.GetProperty("top")));
            Assert.Equal(Examples(expected.Bottom), Examples(data.GetProperty("bottom")));
            Assert.Equal(field.Size, data.GetProperty("receptiveField").GetProperty("size").GetDouble());
            var statistics = data.GetProperty("statistics");
            Assert.Equal(expected.Count, statistics.GetProperty("count").GetInt64());
            Assert.Equal(expected.Min, statistics.GetProperty("min").GetDouble());
            Assert.Equal(expected.Max, statistics.GetProperty("max").GetDouble());
            Assert.Equal(expected.Quantile(0.9), statistics.GetProperty("quantiles").GetProperty("0.9").GetDouble());
            Assert.Equal(expected.Mean, record.Quality["mean"], 12);
            Assert.Equal(expected.StandardDeviation, record.Quality["std"], 12);
            Assert.Equal(expected.Top[0].Activation, record.Quality["topActivation"]);
            Assert.Equal(10, (int)record.Quality["images"]);
            Assert.Equal(1, (int)record.Quality["skipped"]);

            // The mosaic: the top three crops over the three full images, 64-pixel tiles.
            using var mosaic = SKBitmap.Decode((await store.GetAsync(record.ImagePath))!.Content.ToArray());
            Assert.Equal((3 * (Mosaic.Tile + 4)) + 4, mosaic.Width);
        }

        // The layer's statistics, every unit, as the CLI writes them.
        using var layerStatistics = JsonDocument.Parse((await store.GetAsync(LensRenderEngine.StatisticsPath(mergeItem)))!.Content);
        Assert.Equal(10, layerStatistics.RootElement.GetProperty("images").GetInt32());
        Assert.Equal(["broken.png"], layerStatistics.RootElement.GetProperty("skipped").EnumerateArray().Select(e => e.GetString()));
        var unitFigures = layerStatistics.RootElement.GetProperty("units").EnumerateArray().ToList();
        Assert.Equal(layer.Units, unitFigures.Count);
        Assert.Equal(whole.Layers[0].Units[2].Quantile(0.99), unitFigures[2].GetProperty("p99").GetDouble());

        // Again: nothing is scanned or merged twice.
        Assert.False((await engine.RenderAsync(fixture.Item("dataset-examples", [], top: 3, kind: WorkKind.DatasetShard, shard: 1, shards: 3), null, CancellationToken.None)).Rendered);
        Assert.False((await engine.RenderAsync(mergeItem, null, CancellationToken.None)).Rendered);
        Assert.Equal(4, RenderJournal.Read(journal).Count);
    }

    [Fact]
    public void Merging_is_exact_in_any_order_of_shards()
    {
        static UnitExamples Unit(params (string Image, double Activation)[] examples)
        {
            var unit = new UnitExamples(2);
            foreach (var (image, activation) in examples)
            {
                unit.Add(new Example(image, activation, 0, 0));
            }

            return unit;
        }

        var a = new DatasetShardFile(2, ["x.png"], [Unit(("a", 1), ("b", 3)).ToState()]);
        var b = new DatasetShardFile(2, [], [Unit(("c", 3), ("d", -1)).ToState()]);
        var c = new DatasetShardFile(1, ["w.png"], [Unit(("e", 2)).ToState()]);
        var one = Unit(("a", 1), ("b", 3), ("c", 3), ("d", -1), ("e", 2));

        var forward = DatasetLens.Merge([a, b, c], 1, 2);
        var backward = DatasetLens.Merge([c, b, a], 1, 2);

        foreach (var merged in new[] { forward, backward })
        {
            Assert.Equal(5, merged.Images);
            Assert.Equal(["w.png", "x.png"], merged.Skipped);
            Assert.Equal(one.Top, merged.Units[0].Top);
            Assert.Equal(one.Bottom, merged.Units[0].Bottom);
            Assert.Equal((one.Count, one.Min, one.Max, one.Quantile(0.5)), (merged.Units[0].Count, merged.Units[0].Min, merged.Units[0].Max, merged.Units[0].Quantile(0.5)));
            Assert.Equal(one.Mean, merged.Units[0].Mean, 12);
        }

        Assert.Throws<InvalidOperationException>(() => DatasetLens.Merge([a], 1, 3));
    }

    [Fact]
    public async Task A_shard_survives_its_trip_through_json()
    {
        var engine = fixture.Engine();
        var item = fixture.Item("dataset-examples", [], top: 4, kind: WorkKind.DatasetShard, shard: 0, shards: 1);
        await engine.RenderAsync(item, null, CancellationToken.None);

        var shard = JsonSerializer.Deserialize<DatasetShardFile>((await store.GetAsync(StoredRenderEngine.ShardPath(item)))!.Content.Span, LensDocument.Json)!;

        Assert.Equal(fixture.Layer.Units, shard.Units.Count);
        Assert.All(shard.Units, u => Assert.Equal(UnitExamples.Bins, u.Histogram.Length));
        var state = shard.Units[0];
        var again = UnitExamples.FromState(state).ToState();
        Assert.Equal((state.K, state.Count, state.Mean, state.SquaredDeviations, state.Min, state.Max), (again.K, again.Count, again.Mean, again.SquaredDeviations, again.Min, again.Max));
        Assert.Equal(state.Top, again.Top);
        Assert.Equal(state.Histogram, again.Histogram);
        Assert.Equal(10, state.Count);
    }

    [Theory]
    [InlineData(WorkKind.DatasetShard)]
    [InlineData(WorkKind.DatasetMerge)]
    public async Task An_unknown_dataset_is_a_request_error_not_a_retry(WorkKind kind)
    {
        var item = fixture.Item("dataset-examples", kind == WorkKind.DatasetMerge ? [0] : [], kind: kind, shards: 2);
        item = item with { Options = item.Options with { Dataset = "nowhere" } };

        var error = await Assert.ThrowsAsync<RenderInputException>(() => fixture.Engine().RenderAsync(item, null, CancellationToken.None));

        Assert.Contains("no dataset 'nowhere'", error.Message);
        Assert.Contains("default", error.Message);
    }

    private static List<(string, double, int, int)> Examples(IEnumerable<Example> examples) => [.. examples.Select(e => (e.Image, e.Activation, e.X, e.Y))];

    private static List<(string, double, int, int)> Examples(JsonElement array) =>
        [.. array.EnumerateArray().Select(e => (e.GetProperty("image").GetString()!, e.GetProperty("activation").GetDouble(), e.GetProperty("x").GetInt32(), e.GetProperty("y").GetInt32()))];
}
