using System.Diagnostics;
using Microscope.Farm.Storage;
using SkiaSharp;

namespace Microscope.Farm.Rendering.Tests;

/// <summary>The simulated engine: the real engine's paths, skips and journal, a fixed time, and tiny valid images.</summary>
public sealed class SimulatedRenderEngineTests(RenderFixture fixture) : IClassFixture<RenderFixture>
{
    private readonly ILensStore store = fixture.Store;

    [Fact]
    public async Task It_takes_its_time_and_stores_valid_images_where_the_real_engine_would()
    {
        var journal = fixture.NewFolder("journal");
        var simulated = new SimulatedRenderEngine(store, TimeSpan.FromMilliseconds(200), journal);
        var item = fixture.Item("featurevis", [7, 8], seed: 21, layer: fixture.Model.Layers[5].Id);

        var watch = Stopwatch.StartNew();
        var result = await simulated.RenderAsync(item, null, CancellationToken.None);

        Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(195));
        Assert.True(result.Rendered);
        Assert.Equal(StoredRenderEngine.Outputs(item).Select(o => (o.Unit, o.Image, o.Data)), result.Lenses.Select(l => (l.Unit, l.ImagePath, l.DataPath!)));
        foreach (var record in result.Lenses)
        {
            using var bitmap = SKBitmap.Decode((await store.GetAsync(record.ImagePath))!.Content.ToArray());
            Assert.Equal((8, 8), (bitmap.Width, bitmap.Height));
            Assert.True(await store.ExistsAsync(record.DataPath!));
        }

        // Again: found stored, so no render (and no journal line); no timing asserted, as a busy machine may take any time.
        Assert.False((await simulated.RenderAsync(item, null, CancellationToken.None)).Rendered);
        Assert.Single(RenderJournal.Read(journal));
    }

    [Fact]
    public async Task Shards_and_layer_lenses_are_stored_and_skipped_alike()
    {
        var simulated = new SimulatedRenderEngine(store, TimeSpan.FromMilliseconds(10));
        var shard = fixture.Item("dataset-examples", [], top: 7, kind: WorkKind.DatasetShard, shard: 1, shards: 2);
        var layer = fixture.Item("deepdream", [], seed: 22);

        Assert.True((await simulated.RenderAsync(shard, null, CancellationToken.None)).Rendered);
        Assert.True(await store.ExistsAsync(StoredRenderEngine.ShardPath(shard)));
        Assert.False((await simulated.RenderAsync(shard, null, CancellationToken.None)).Rendered);
        Assert.Equal(-1, Assert.Single((await simulated.RenderAsync(layer, null, CancellationToken.None)).Lenses).Unit);
        Assert.False((await simulated.RenderAsync(layer, null, CancellationToken.None)).Rendered);
    }
}
