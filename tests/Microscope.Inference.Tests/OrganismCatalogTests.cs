using Microscope.Onnx;
using Microscope.Organisms;
using Microscope.Testing;

namespace Microscope.Inference.Tests;

/// <summary>The real model organisms, fetched by the build into the test output.</summary>
public sealed class OrganismCatalogTests
{
    /// <summary>The organism's catalog, built as the farm builds it.</summary>
    internal static LayerCatalog Catalog(string id)
    {
        var manifest = OrganismRegistry.Default.Resolve(id);
        return LayerCatalogBuilder.Build(manifest, OrganismRegistry.Compose(manifest), new SessionFactory(new SessionSettings()));
    }

    [Fact]
    public void Resnet18_matches_the_architecture()
    {
        var catalog = Catalog("resnet18");

        Assert.True(catalog.Layers.Count >= 20, $"{catalog.Layers.Count} layers");
        Assert.Equal([64, 112, 112], catalog.Find("conv1").Shape);
        Assert.Equal("Conv", catalog.Find("conv1").Op);
        Assert.Equal([64, 56, 56], catalog.Find("maxpool").Shape);
        Assert.Equal([128, 28, 28], catalog.Find("layer2.0.relu").Shape);
        Assert.Equal([256, 14, 14], catalog.Find("layer3.1.relu").Shape);
        var lastStage = catalog.Layers.Where(l => l.Id.StartsWith("layer4.", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(lastStage);
        Assert.All(lastStage, l => Assert.Equal([512, 7, 7], l.Shape));
        Assert.Equal([512, 1, 1], catalog.Layers[^1].Shape);
        Assert.Equal("Input247", catalog.Input);
        Assert.Empty(catalog.Assumptions);
    }

    /// <summary>Axis roles changed how layers are found; resnet18's catalog (taken before the change) must not move, and it needs no views.</summary>
    [Fact]
    public void Resnet18_catalog_is_the_one_before_axis_roles_and_every_layer_is_read_as_it_is()
    {
        var catalog = Catalog("resnet18");

        Assert.Equal(
            ["conv1 64x112x112", "relu 64x112x112", "maxpool 64x56x56", "layer1.0.relu1 64x56x56", "layer1.0.bn2 64x56x56", "layer1.0.relu 64x56x56", "layer1.1.relu1 64x56x56", "layer1.1.bn2 64x56x56", "layer1.1.relu 64x56x56", "layer2.0.downsample 128x28x28", "layer2.0.relu1 128x28x28", "layer2.0.bn2 128x28x28", "layer2.0.relu 128x28x28", "layer2.1.relu1 128x28x28", "layer2.1.bn2 128x28x28", "layer2.1.relu 128x28x28", "layer3.0.downsample 256x14x14", "layer3.0.relu1 256x14x14", "layer3.0.bn2 256x14x14", "layer3.0.relu 256x14x14", "layer3.1.relu1 256x14x14", "layer3.1.bn2 256x14x14", "layer3.1.relu 256x14x14", "layer4.0.downsample 512x7x7", "layer4.0.relu1 512x7x7", "layer4.0.bn2 512x7x7", "layer4.0.relu 512x7x7", "layer4.1.relu1 512x7x7", "layer4.1.bn2 512x7x7", "layer4.1.relu 512x7x7", "layer4.2.relu1 512x7x7", "layer4.2.bn2 512x7x7", "layer4.2.relu 512x7x7", "avgpool 512x1x1"],
            catalog.Layers.Select(l => $"{l.Id} {string.Join("x", l.Shape)}"));
        Assert.All(catalog.Layers, l => Assert.Equal(l.Source, l.Tensor));
        Assert.All(catalog.Layers, l => Assert.Contains(l.Layout, new[] { "N,C,H,W", "N,C,1,1", "N,C" }));
        Assert.Empty(catalog.Hidden);
    }

    [Theory]
    [InlineData("ppocr-det", 72)]
    [InlineData("ppocr-cls", 55)]
    public void Ppocr_catalogs_keep_their_layers_and_need_no_views(string id, int layers)
    {
        var catalog = Catalog(id);

        Assert.Equal(layers, catalog.Layers.Count);
        Assert.All(catalog.Layers, l => Assert.Equal(l.Source, l.Tensor));
    }

    [Fact]
    public void Resnet18_ids_are_stable() =>
        Assert.Equal(Catalog("resnet18").Layers.Select(l => l.Id), Catalog("resnet18").Layers.Select(l => l.Id));

    [Fact]
    public void Ppocr_det_ends_with_its_text_probability_map()
    {
        var catalog = Catalog("ppocr-det");

        Assert.True(catalog.Layers.Count >= 20);
        Assert.Equal("Sigmoid", catalog.Layers[^1].Op);
        Assert.Equal([1, 640, 640], catalog.Layers[^1].Shape);
    }

    [Fact]
    public void Ppocr_cls_ends_with_its_two_classes()
    {
        var catalog = Catalog("ppocr-cls");

        Assert.Equal("Softmax", catalog.Layers[^1].Op);
        Assert.Equal([2], catalog.Layers[^1].Shape);
        Assert.Equal([2], catalog.Layers[^2].Shape);
    }

    [Fact]
    public void The_built_in_organisms_are_listed()
    {
        Assert.Equal(["ppocr-cls", "ppocr-det", "resnet18"], OrganismRegistry.Default.BuiltIn().Select(m => m.Id));
    }

    [Fact]
    public void An_unknown_organism_lists_the_known_ones()
    {
        var error = Assert.Throws<ModelFormatException>(() => OrganismRegistry.Default.Resolve("alexnet"));
        Assert.Contains("alexnet", error.Message);
        Assert.Contains("resnet18", error.Message);
    }
}
