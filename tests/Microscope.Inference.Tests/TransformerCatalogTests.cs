using Microscope.Onnx;
using Microscope.Onnx.Proto;
using Microscope.Testing;
using Microsoft.ML.OnnxRuntime;

namespace Microscope.Inference.Tests;

/// <summary>Catalogs of channels-last and token models, checked by hand against the models in <see cref="TinyTransformers"/>.</summary>
public sealed class TransformerCatalogTests
{
    private static readonly SessionFactory Sessions = new(new SessionSettings());

    internal static (VisionGraph Vision, LayerCatalog Catalog) Build(ModelProto model, string id, LayerOptions? layers = null)
    {
        var manifest = new ModelManifest { Id = id, Model = id + ".onnx", Input = new InputSpec { Size = [TinyTransformers.Size, TinyTransformers.Size] }, Layers = layers ?? new LayerOptions() };
        var vision = VisionGraph.Compose(model, manifest.Input, null, id);
        return (vision, LayerCatalogBuilder.Build(manifest, vision, Sessions));
    }

    private static string Row(Layer l) => $"{l.Op} {l.ShapeText} {l.Layout}{(l.Token is { } t ? $" token{t}" : "")}";

    [Fact]
    public void A_channels_last_mlp_lists_channels_as_units()
    {
        var (_, catalog) = Build(TinyTransformers.ChannelsLastMlp(), "mlp");

        // The patch conv, the LayerNorm, GELU and second Linear in N×H×W×C, the residual sum back in N×C×H×W, the head.
        Assert.Equal(
            ["Conv 8×4×4 N,C,H,W", "LayerNormalization 8×4×4 N,H,W,C", "Mul 16×4×4 N,H,W,C", "Add 8×4×4 N,H,W,C", "Add 8×4×4 N,C,H,W", "GlobalAveragePool 8×1×1 N,C,1,1", "Gemm 5 N,C"],
            catalog.Layers.Select(Row));
        Assert.Equal([8, 8, 16, 8, 8, 8, 5], catalog.Layers.Select(l => l.Units));
        Assert.Empty(catalog.Hidden);
    }

    [Fact]
    public void A_vision_transformer_lists_tokens_on_their_grid_and_the_class_token_apart()
    {
        var (_, catalog) = Build(TinyTransformers.Vit(), "vit");
        var rows = catalog.Layers.Select(Row).ToList();

        Assert.Equal("Conv 8×4×4 N,C,H,W", rows[0]);
        // Before attention the class token is a constant, so it is no layer yet.
        Assert.Equal(["Concat 8×4×4 N,T,C", "LayerNormalization 8×4×4 N,T,C", "Add 24×4×4 T,N,C"], rows[1..4]);

        // torchvision's MultiheadAttention: the output projection runs on tokens flattened into the batch, sequence first.
        var projection = catalog.Layers.Single(l => l.Op == "Gemm" && l.Token is null && l.Layout == "(T·N),C");
        Assert.Equal([8, 4, 4], projection.Shape);
        Assert.Equal(1, projection.ExtraTokens);
        Assert.Equal(projection.Id + ".cls", catalog.Layers.Single(l => l.Source == projection.Source && l.Token == 0).Id);

        // MLP neurons of both blocks, and the residual stream (after attention, after the MLP, and the MLP output fed into it), each with its class token.
        Assert.Equal(2, catalog.Layers.Count(l => l.Op == "Mul" && l.Shape.SequenceEqual([16, 4, 4])));
        Assert.Equal(2, catalog.Layers.Count(l => l.Op == "Mul" && l.Shape.SequenceEqual([16])));
        Assert.Equal(7, catalog.Layers.Count(l => l.Op == "Add" && l.Layout == "N,T,C" && l.Shape.SequenceEqual([8, 4, 4])));
        Assert.Equal("Gemm 5 N,C", rows[^1]);

        // Attention scores and the heads are not layers, and the catalog says why.
        var hidden = Assert.Single(catalog.Hidden);
        Assert.Contains("attention heads", hidden.Reason);
        Assert.True(hidden.Count >= 4, hidden.Describe());
        Assert.DoesNotContain(catalog.Layers, l => l.Op is "Softmax");
    }

    [Fact]
    public void A_swin_block_hides_windows_and_shows_the_merged_map_channels_last()
    {
        var (_, catalog) = Build(TinyTransformers.Swin(), "swin");

        Assert.Equal(
            ["Conv 8×4×4 N,C,H,W", "LayerNormalization 8×4×4 N,H,W,C", "Add 8×4×4 N,H,W,C", "LayerNormalization 8×4×4 N,H,W,C", "Mul 16×4×4 N,H,W,C",
             "Add 8×4×4 N,H,W,C", "Add 8×4×4 N,H,W,C", "GlobalAveragePool 8×1×1 N,C,1,1", "Gemm 5 N,C"],
            catalog.Layers.Select(Row));
        Assert.Equal(
            ["positions split into windows and mixed with the batch", "a units axis split apart (attention heads)"],
            catalog.Hidden.Select(h => h.Reason));
    }

    [Theory]
    [InlineData("mlp")]
    [InlineData("vit")]
    [InlineData("swin")]
    public void Every_view_holds_the_source_values_on_the_right_axes(string name)
    {
        var model = name switch { "mlp" => TinyTransformers.ChannelsLastMlp(), "vit" => TinyTransformers.Vit(), _ => TinyTransformers.Swin() };
        var (vision, catalog) = Build(model, name);
        const int batch = 3;
        var outputs = catalog.Layers.SelectMany(l => new[] { l.Tensor, l.Source }).Distinct().ToList();
        var values = Run(vision, outputs, batch);

        foreach (var layer in catalog.Layers)
        {
            var (view, viewShape) = values[layer.Tensor];
            var (source, sourceShape) = values[layer.Source];
            Assert.Equal([batch, .. layer.Shape.Select(s => (long)s)], viewShape);
            var axes = layer.Layout.Split(',');
            var c = layer.Shape[0];
            var (h, w) = layer.Shape.Length == 3 ? (layer.Shape[1], layer.Shape[2]) : (1, 1);
            for (var n = 0; n < batch; n++)
            {
                for (var u = 0; u < c; u++)
                {
                    for (var y = 0; y < h; y++)
                    {
                        for (var x = 0; x < w; x++)
                        {
                            var token = layer.Token ?? (layer.ExtraTokens + (y * w) + x);
                            var index = SourceIndex(axes, sourceShape, n, u, y, x, token, batch);
                            Assert.Equal(source[index], view[(((((n * c) + u) * h) + y) * w) + x]);
                        }
                    }
                }
            }
        }
    }

    /// <summary>Where element (n, unit, y, x) of the canonical view sits in the source tensor, by the layout's letters.</summary>
    private static long SourceIndex(string[] axes, long[] shape, int n, int u, int y, int x, int token, int batch)
    {
        long index = 0;
        for (var a = 0; a < axes.Length; a++)
        {
            long position = 0;
            foreach (var letter in axes[a].Trim('(', ')').Split('·'))
            {
                var (value, size) = letter switch
                {
                    "N" => (n, batch),
                    "C" => (u, 0),
                    "H" => (y, 0),
                    "W" => (x, 0),
                    "T" => (token, 0),
                    _ => (0, 1),
                };

                // Sizes of single letters come from the shape; in a flattened axis the other letter is the batch.
                var letterSize = size != 0 ? size : axes[a].Contains('·') ? shape[a] / batch : shape[a];
                position = (position * letterSize) + value;
            }

            index = (index * shape[a]) + position;
        }

        return index;
    }

    private static Dictionary<string, (float[] Values, long[] Shape)> Run(VisionGraph vision, List<string> outputs, int batch)
    {
        var model = vision.Model.Clone();
        model.Graph.Output.Clear();
        foreach (var o in outputs)
        {
            model.Graph.Output.Add(new ValueInfoProto { Name = o });
        }

        using var session = new InferenceSession(OnnxModelFile.ToBytes(model));
        var random = new Random(5);
        var image = Enumerable.Range(0, batch * 3 * TinyTransformers.Size * TinyTransformers.Size).Select(_ => (float)random.NextDouble()).ToArray();
        using var input = OrtValue.CreateTensorValueFromMemory(image, [batch, 3, TinyTransformers.Size, TinyTransformers.Size]);
        using var runOptions = new RunOptions();
        using var results = session.Run(runOptions, [VisionGraph.ImageInput], [input], outputs);
        return outputs.Select((name, i) => (name, results[i])).ToDictionary(
            r => r.name, r => (r.Item2.GetTensorDataAsSpan<float>().ToArray(), r.Item2.GetTensorTypeAndShape().Shape));
    }

    [Fact]
    public void Layers_whose_sizes_the_model_writes_out_are_fed_at_the_catalog_size()
    {
        // A transpose holds at any size; a ViT's token count and a Swin's windows are constants of the model.
        Assert.All(Build(TinyTransformers.ChannelsLastMlp(), "mlp").Catalog.Layers, l => Assert.False(l.FixedSize, l.Id));
        var vit = Build(TinyTransformers.Vit(), "vit").Catalog.Layers;
        Assert.False(vit[0].FixedSize);
        Assert.All(vit.Skip(1).SkipLast(1), l => Assert.True(l.FixedSize, l.Id));
        var swin = Build(TinyTransformers.Swin(), "swin").Catalog.Layers;
        Assert.Equal([false, false, true, true, true, true, true, true, true], swin.Select(l => l.FixedSize));
        Assert.Equal(TinyTransformers.Size, vit[^2].NetworkSize(Build(TinyTransformers.Vit(), "vit").Vision, 224));
    }

    [Fact]
    public void Roles_stated_in_the_manifest_give_the_same_layer()
    {
        var (_, automatic) = Build(TinyTransformers.Vit(), "vit");
        var projection = automatic.Layers.Single(l => l.Op == "Gemm" && l.Layout == "(T·N),C" && l.Token is null);

        var (_, stated) = Build(TinyTransformers.Vit(), "vit", new LayerOptions { Roles = new() { [projection.Id] = "(T=4x4+1·N),C" } });

        var again = stated.Layers.Single(l => l.Id == projection.Id);
        Assert.Equal(projection.Shape, again.Shape);
        Assert.Equal(projection.Layout, again.Layout);
        Assert.Equal(1, again.ExtraTokens);
    }

    [Theory]
    [InlineData("N,T=4x4+1,C", "names 3 axes")]
    [InlineData("(T=4x4·N),C", "does not match")]
    [InlineData("(T·N),C", "tokens need their grid")]
    [InlineData("(X·N),C", "is not one of")]
    public void Roles_that_do_not_fit_the_tensor_are_refused_with_the_reason(string roles, string reason)
    {
        var (_, automatic) = Build(TinyTransformers.Vit(), "vit");
        var projection = automatic.Layers.Single(l => l.Op == "Gemm" && l.Layout == "(T·N),C" && l.Token is null);
        var layers = new LayerOptions { Roles = new() { [projection.Id] = roles } };

        var error = Assert.Throws<ModelFormatException>(() => Build(TinyTransformers.Vit(), "vit", layers));

        Assert.Contains(reason, error.Message);
    }

    [Fact]
    public void Roles_for_a_tensor_that_is_no_candidate_are_named()
    {
        var error = Assert.Throws<ModelFormatException>(() => Build(TinyTransformers.ChannelsLastMlp(), "mlp", new LayerOptions { Roles = new() { ["nothing"] = "N,C" } }));
        Assert.Contains("nothing", error.Message);
    }

    [Fact]
    public void A_catalog_built_twice_over_one_graph_adds_its_views_once()
    {
        var manifest = new ModelManifest { Id = "vit", Model = "vit.onnx", Input = new InputSpec { Size = [TinyTransformers.Size, TinyTransformers.Size] } };
        var vision = VisionGraph.Compose(TinyTransformers.Vit(), manifest.Input, null, "vit");
        var first = LayerCatalogBuilder.Build(manifest, vision, Sessions);
        var nodes = vision.Model.Graph.Node.Count;

        var second = LayerCatalogBuilder.Build(manifest, vision, Sessions);

        Assert.Equal(nodes, vision.Model.Graph.Node.Count);
        Assert.Equal(first.Layers.Select(Row), second.Layers.Select(Row));
    }
}
