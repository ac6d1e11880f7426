using Microscope.Onnx;

namespace Microscope.Inference.Tests;

/// <summary>The layer graph of the real organisms, built with their catalogs.</summary>
public sealed class LayerGraphTests
{
    private static LayerCatalog Catalog(string id) => OrganismCatalogTests.Catalog(id);

    /// <summary>
    /// Checked by hand against ResNet-18's blocks: a block's first Relu and its second
    /// normalization are fed in a chain, and its closing Relu (the residual sum) by both the second
    /// normalization and the block's input, or the downsampling convolution's normalization in the
    /// first block of a stage. The last stage of this export has three blocks.
    /// </summary>
    [Fact]
    public void Resnet18_graph_has_its_34_layers_and_its_residual_edges()
    {
        var catalog = Catalog("resnet18");

        Assert.Equal(34, catalog.Layers.Count);
        Assert.Equal(
        [
            "input -> conv1", "conv1 -> relu", "relu -> maxpool", "maxpool -> layer1.0.relu1",
            "maxpool -> layer1.0.relu", "layer1.0.relu1 -> layer1.0.bn2", "layer1.0.bn2 -> layer1.0.relu", "layer1.0.relu -> layer1.1.relu1",
            "layer1.0.relu -> layer1.1.relu", "layer1.1.relu1 -> layer1.1.bn2", "layer1.1.bn2 -> layer1.1.relu", "layer1.1.relu -> layer2.0.downsample",
            "layer1.1.relu -> layer2.0.relu1", "layer2.0.downsample -> layer2.0.relu", "layer2.0.relu1 -> layer2.0.bn2", "layer2.0.bn2 -> layer2.0.relu",
            "layer2.0.relu -> layer2.1.relu1", "layer2.0.relu -> layer2.1.relu", "layer2.1.relu1 -> layer2.1.bn2", "layer2.1.bn2 -> layer2.1.relu",
            "layer2.1.relu -> layer3.0.downsample", "layer2.1.relu -> layer3.0.relu1", "layer3.0.downsample -> layer3.0.relu", "layer3.0.relu1 -> layer3.0.bn2",
            "layer3.0.bn2 -> layer3.0.relu", "layer3.0.relu -> layer3.1.relu1", "layer3.0.relu -> layer3.1.relu", "layer3.1.relu1 -> layer3.1.bn2",
            "layer3.1.bn2 -> layer3.1.relu", "layer3.1.relu -> layer4.0.downsample", "layer3.1.relu -> layer4.0.relu1", "layer4.0.downsample -> layer4.0.relu",
            "layer4.0.relu1 -> layer4.0.bn2", "layer4.0.bn2 -> layer4.0.relu", "layer4.0.relu -> layer4.1.relu1", "layer4.0.relu -> layer4.1.relu",
            "layer4.1.relu1 -> layer4.1.bn2", "layer4.1.bn2 -> layer4.1.relu", "layer4.1.relu -> layer4.2.relu1", "layer4.1.relu -> layer4.2.relu",
            "layer4.2.relu1 -> layer4.2.bn2", "layer4.2.bn2 -> layer4.2.relu", "layer4.2.relu -> avgpool",
        ],
            catalog.Edges.Select(e => $"{e.From} -> {e.To}"));
    }

    /// <summary>Only conv1 is affine in the image: the preprocessing (a colour convolution, the mean image) and the convolution are linear; its BatchNormalization output is hidden in the Relu.</summary>
    [Fact]
    public void Resnet18_conv1_is_the_one_layer_affine_in_the_image() =>
        Assert.Equal(["conv1"], Catalog("resnet18").Layers.Where(l => l.AffineInImage).Select(l => l.Id));

    /// <summary>Every layer of the largest organism is reached from the image, and every edge joins known nodes forward in graph order.</summary>
    [Fact]
    public void Ppocr_det_graph_connects_every_layer_to_the_image()
    {
        var catalog = Catalog("ppocr-det");
        var order = catalog.Layers.Select((l, i) => (l.Id, i)).ToDictionary(x => x.Id, x => x.i);
        order[LayerGraph.Input] = -1;

        Assert.All(catalog.Edges, e => Assert.True(order[e.From] < order[e.To], $"{e.From} -> {e.To}"));
        var reached = new HashSet<string> { LayerGraph.Input };
        foreach (var edge in catalog.Edges.OrderBy(e => order[e.To]))
        {
            if (reached.Contains(edge.From))
            {
                reached.Add(edge.To);
            }
        }

        Assert.Equal(catalog.Layers.Select(l => l.Id), catalog.Layers.Select(l => l.Id).Where(reached.Contains));
        Assert.True(catalog.Layers[0].AffineInImage);
        Assert.Contains(catalog.Edges, e => catalog.Layers.First(l => l.Id == e.To).Op == "Concat");
    }
}
