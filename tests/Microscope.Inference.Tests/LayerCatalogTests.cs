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
}
