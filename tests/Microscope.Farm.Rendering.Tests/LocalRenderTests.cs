namespace Microscope.Farm.Rendering.Tests;

/// <summary>`microscope render` goes through the farm's lens renderers: a lens is the same picture with the same figures from both.</summary>
public sealed class LocalRenderTests(RenderFixture fixture) : IClassFixture<RenderFixture>
{
    [Theory]
    [InlineData("featurevis")]
    [InlineData("diversity")]
    [InlineData("tuning")]
    [InlineData("caricature")]
    public async Task A_lens_renders_locally_what_a_render_silo_stores(string lens)
    {
        var kind = FarmLenses.Get(lens);
        var item = fixture.Item(lens, kind.Scope == LensScope.Layer ? [] : [1, 3], seed: 7);
        var stored = await fixture.Engine().RenderAsync(item, null, CancellationToken.None);
        var model = await fixture.Cache().GetAsync(item.Model, item.ModelVersion);

        var local = Assert.Single(LocalRender.Render(model, new LocalRenderRequest(kind, item.Layer, item.Units, item.Options) { ImagesPerPass = kind == FarmLenses.Diversity ? 2 : 1 }));

        Assert.Equal(stored.Lenses.Select(l => l.Unit), local.Lenses.Select(l => l.Unit));
        foreach (var (record, rendered) in stored.Lenses.Zip(local.Lenses))
        {
            Assert.Equal((await fixture.Store.GetAsync(record.ImagePath))!.Content.ToArray(), rendered.Png);
            Assert.Equal(record.Quality.OrderBy(q => q.Key), rendered.Quality.OrderBy(q => q.Key));
        }

        Assert.Equal(item.Options.For(kind), local.Item.Options);
    }

    [Fact]
    public async Task A_local_dataset_scan_merges_and_reports_as_the_farm_does()
    {
        var model = await fixture.Cache().GetAsync(fixture.Model.Id, fixture.Model.Version);
        var request = new LocalRenderRequest(FarmLenses.DatasetExamples, fixture.Layer.Id, [0, 2], LensOptions.Default with { Top = 3 }) { Dataset = fixture.Dataset, ScanBatch = 4 };

        var local = Assert.Single(LocalRender.Render(model, request));

        Assert.Equal([0, 2], local.Lenses.Select(l => l.Unit));
        var statistics = Assert.IsType<Microscope.Lenses.DatasetExamples.LayerStatistics>(local.Statistics);
        Assert.True(statistics.Images > 0);
        Assert.All(local.Lenses, l => Assert.Equal(statistics.Images, l.Quality["images"]));
        Assert.Throws<RenderInputException>(() => LocalRender.Render(model, request with { Dataset = null }));

        // Several layers: one scan, each layer merged and rendered apart, as from the scan of each alone.
        var other = fixture.Model.Layers[1].Id;
        var both = LocalRender.Render(model, request with { Layers = [new LayerUnits(fixture.Layer.Id, [0, 2]), new LayerUnits(other, [1])] });
        Assert.Equal([fixture.Layer.Id, other], both.Select(r => r.Item.Layer));
        Assert.Equal(local.Lenses.Select(l => l.Png), both[0].Lenses.Select(l => l.Png));
        Assert.Equal(Assert.Single(LocalRender.Render(model, request with { Layers = [new LayerUnits(other, [1])] })).Lenses[0].Png, both[1].Lenses[0].Png);
        Assert.Throws<RenderInputException>(() => LocalRender.Render(model, new LocalRenderRequest(FarmLenses.Tuning, [new LayerUnits(fixture.Layer.Id, [0]), new LayerUnits(other, [0])], LensOptions.Default)));
    }
}
