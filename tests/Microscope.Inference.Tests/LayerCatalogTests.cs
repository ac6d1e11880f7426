using Microscope.Onnx;
using Microscope.Testing;

namespace Microscope.Inference.Tests;

public sealed class LayerCatalogTests
{
    private static readonly SessionFactory Sessions = new(new SessionSettings());

    private static LayerCatalog Catalog(LayerOptions? layers = null)
    {
        var manifest = new ModelManifest { Id = "small", Model = "small.onnx", Input = new InputSpec { Size = [16, 16] }, Layers = layers ?? new LayerOptions() };
        var vision = VisionGraph.Compose(TinyModel.SmallCnn(), manifest.Input, null, "small");
        return LayerCatalogBuilder.Build(manifest, vision, Sessions);
    }

    [Fact]
    public void Shapes_and_units_are_measured_in_graph_order()
    {
        var catalog = Catalog();

        // The second Conv feeds a residual Add, so it shows on its own (like a BatchNormalization before one).
        Assert.Equal(["Relu", "MaxPool", "Conv", "Relu", "Relu", "Concat", "GlobalAveragePool", "Gemm"], catalog.Layers.Select(l => l.Op));
        Assert.Equal([[4, 16, 16], [4, 8, 8], [4, 8, 8], [4, 8, 8], [6, 8, 8], [10, 8, 8], [10, 1, 1], [5]], catalog.Layers.Select(l => l.Shape));
        Assert.Equal([4, 4, 4, 4, 6, 10, 10, 5], catalog.Layers.Select(l => l.Units));
        Assert.Equal(catalog.Layers.Count, catalog.Layers.Select(l => l.Id).Distinct().Count());
        Assert.All(catalog.Layers, l => Assert.True(Ids.IsValid(l.Id), l.Id));
        Assert.Equal(47, catalog.TotalUnits);
    }

    [Fact]
    public void Ids_are_stable_across_builds()
    {
        Assert.Equal(Catalog().Layers.Select(l => l.Id), Catalog().Layers.Select(l => l.Id));
    }

    [Fact]
    public void An_unknown_layer_lists_close_matches()
    {
        var catalog = Catalog();
        var relu = catalog.Layers[0].Id;

        var error = Assert.Throws<UnknownLayerException>(() => catalog.Find(relu + "x"));

        Assert.Contains(relu + "x", error.Message);
        Assert.Contains(relu, error.Message);
        Assert.Contains("close matches", error.Message);
    }

    [Fact]
    public void A_layer_is_found_by_id_or_by_tensor_name()
    {
        var catalog = Catalog();
        var layer = catalog.Layers[2];
        Assert.Same(layer, catalog.Find(layer.Id));
        Assert.Same(layer, catalog.Find(layer.Tensor));
    }

    [Fact]
    public void Manifest_aliases_rename_hide_removes_and_add_adds()
    {
        var plain = Catalog();
        var firstConv = TinyModel.SmallCnn().Graph.Node.First(n => n.OpType == "Conv");

        var catalog = Catalog(new LayerOptions
        {
            Aliases = new() { [plain.Layers[0].Id] = "block1.relu" },
            Hide = [plain.Layers[1].Id],
            Add = [firstConv.Output[0]],
        });

        Assert.Equal("block1.relu", catalog.Layers.Single(l => l.Tensor == plain.Layers[0].Tensor).Id);
        Assert.DoesNotContain(catalog.Layers, l => l.Tensor == plain.Layers[1].Tensor);
        Assert.Equal("Conv", catalog.Layers[0].Op);
        Assert.Equal([4, 16, 16], catalog.Layers[0].Shape);
    }

    [Fact]
    public void An_alias_for_a_layer_that_does_not_exist_is_named()
    {
        var error = Assert.Throws<ModelFormatException>(() => Catalog(new LayerOptions { Aliases = new() { ["nope"] = "x" } }));
        Assert.Contains("nope", error.Message);
    }

    [Fact]
    public void Adding_a_tensor_the_model_lacks_is_named()
    {
        var error = Assert.Throws<ModelFormatException>(() => Catalog(new LayerOptions { Add = ["missing_tensor"] }));
        Assert.Contains("missing_tensor", error.Message);
    }

    /// <summary>
    /// A tiny model declaring a huge input is refused before its probe runs (a 4096×4096 probe took
    /// 2 GB of server memory, 100000×100000 overflowed), with a message naming the setting.
    /// </summary>
    [Theory]
    [InlineData(4096, "Farm:Catalog:MaxProbePixels")]
    [InlineData(100_000, "Farm:Catalog:MaxProbePixels")]
    [InlineData(int.MaxValue, "Farm:Catalog:MaxProbePixels")]
    public void A_probe_past_the_size_limit_is_refused_before_it_runs(int size, string setting)
    {
        var manifest = new ModelManifest { Id = "huge", Model = "huge.onnx", Input = new InputSpec { Size = [size, size] } };
        var vision = VisionGraph.Compose(TinyModel.SmallCnn(size: size), manifest.Input, null, "huge");
        var before = GC.GetTotalAllocatedBytes();
        var error = Assert.Throws<ModelFormatException>(() => LayerCatalogBuilder.Build(manifest, vision, Sessions));
        Assert.Contains(setting, error.Message);
        Assert.Contains($"{size}×{size}", error.Message);
        Assert.True(GC.GetTotalAllocatedBytes() - before < 64 << 20, "the probe image was allocated");
    }

    [Fact]
    public void A_probe_whose_memory_estimate_passes_the_limit_is_refused_naming_it()
    {
        var manifest = new ModelManifest { Id = "small", Model = "small.onnx", Input = new InputSpec { Size = [512, 512] } };
        var vision = VisionGraph.Compose(TinyModel.SmallCnn(size: 512), manifest.Input, null, "small");
        var tight = new SessionFactory(new SessionSettings { Probe = new ProbeLimits { MaxProbeMegabytes = 16 } });
        var error = Assert.Throws<ModelFormatException>(() => LayerCatalogBuilder.Build(manifest, vision, tight));
        Assert.Contains("Farm:Catalog:MaxProbeMegabytes = 16", error.Message);

        // The same model within the limits is measured as before, and resnet-class sizes fit the defaults.
        Assert.Equal(8, LayerCatalogBuilder.Build(manifest, vision, Sessions).Layers.Count);
        Assert.True(ProbeLimits.EstimateBytes(640, 640, 200) < ProbeLimits.Default.MaxProbeMegabytes << 20);
        Assert.True(640 * 640 <= ProbeLimits.Default.MaxProbePixels);
    }

    [Fact]
    public void Probe_arithmetic_is_checked() =>
        Assert.Throws<OverflowException>(() => ProbeLimits.EstimateBytes(int.MaxValue, int.MaxValue, int.MaxValue));
}
