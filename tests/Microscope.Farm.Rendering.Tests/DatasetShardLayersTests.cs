using System.Text.Json;
using Microscope.Farm.Storage;
using Microscope.Lenses.DatasetExamples;

namespace Microscope.Farm.Rendering.Tests;

/// <summary>A dataset shard of several layers: one scan, each layer's state stored where its merges read it, equal to a scan of that layer alone.</summary>
public sealed class DatasetShardLayersTests(RenderFixture fixture) : IClassFixture<RenderFixture>
{
    [Fact]
    public async Task One_shard_item_stores_every_layer_as_its_own_scan_would()
    {
        var journal = fixture.NewFolder("journal");
        var engine = fixture.Engine(journal);
        string[] layers = [fixture.Model.Layers[0].Id, fixture.Layer.Id, fixture.Model.Layers[^1].Id];
        var item = fixture.Item("dataset-examples", [], top: 5, kind: WorkKind.DatasetShard, shard: 1, shards: 2) with { ScanLayers = layers };

        Assert.True((await engine.RenderAsync(item, null, CancellationToken.None)).Rendered);

        var loaded = await fixture.Cache().GetAsync(fixture.Model.Id, fixture.Model.Version);
        var files = DatasetScanner.Files(fixture.Dataset).Where((_, i) => i % 2 == 1).ToList();
        foreach (var layer in layers)
        {
            var stored = JsonSerializer.Deserialize<DatasetShardFile>((await fixture.Store.GetAsync(StoredRenderEngine.ShardPath(item, layer)))!.Content.Span, LensDocument.Json)!;
            var alone = DatasetScanner.Scan(loaded.Vision, [loaded.Layer(layer)], fixture.Dataset, files, loaded.ForwardSize, 5, 3, loaded.Sessions);
            Assert.Equal(alone.Images, stored.Images);
            Assert.Equal(alone.Skipped, stored.Skipped);
            Assert.Equal(alone.Layers[0].Units.Length, stored.Units.Count);
            foreach (var (a, b) in alone.Layers[0].Units.Select(u => u.ToState()).Zip(stored.Units))
            {
                Assert.Equal(a.Top, b.Top);
                Assert.Equal(a.Bottom, b.Bottom);
                Assert.Equal(a.Histogram, b.Histogram);
                Assert.Equal(a.Mean, b.Mean, 12);
            }
        }

        // Scanned once; a layer lost since (deleted) makes the shard scan again, and the others are kept.
        Assert.False((await engine.RenderAsync(item, null, CancellationToken.None)).Rendered);
        await fixture.Store.DeleteAsync(StoredRenderEngine.ShardPath(item, layers[1]));
        Assert.True((await engine.RenderAsync(item, null, CancellationToken.None)).Rendered);
        Assert.True(await fixture.Store.ExistsAsync(StoredRenderEngine.ShardPath(item, layers[1])));
        Assert.Equal(2, RenderJournal.Read(journal).Count);
    }
}

/// <summary>What render workers report to the job directory: the engine's datasets, seen through IRenderEngine.</summary>
public sealed class EngineDatasetsTests(RenderFixture fixture) : IClassFixture<RenderFixture>
{
    [Fact]
    public void Engines_report_their_datasets_through_the_interface()
    {
        Assert.Equal(["default"], ((IRenderEngine)fixture.Engine()).Datasets);
        Assert.Equal(["a", "b"], ((IRenderEngine)new SimulatedRenderEngine(fixture.Store, TimeSpan.Zero, datasets: ["a", "b"])).Datasets);
        Assert.Empty(((IRenderEngine)new SimulatedRenderEngine(fixture.Store, TimeSpan.Zero)).Datasets);
    }
}
