using Microscope.Inference;
using Microscope.Lenses;
using Microscope.Lenses.DatasetExamples;
using Microscope.Onnx;
using Microscope.Onnx.Gradients;
using Microscope.Onnx.Proto;
using Microscope.Optvis;
using Microscope.Testing;

namespace Microscope.Lenses.Tests;

/// <summary>
/// Lenses on channels-last and token layers (<see cref="TinyTransformers"/>): gradients through the
/// canonical views, renders that do not depend on their batch, and dataset examples on their grid.
/// </summary>
public sealed class TransformerLensTests : IDisposable
{
    private const int Size = TinyTransformers.Size;
    private static readonly SessionFactory Sessions = new(new SessionSettings());
    private readonly string folder = Directory.CreateTempSubdirectory("microscope-tokens-").FullName;

    public TransformerLensTests()
    {
        var random = new Random(11);
        for (var i = 0; i < 13; i++)
        {
            var image = Enumerable.Range(0, 3 * 12 * 12).Select(_ => (float)random.NextDouble()).ToArray();
            File.WriteAllBytes(Path.Combine(folder, $"image{i:D2}.png"), Png.Encode(image, 12, 12));
        }
    }

    public void Dispose() => Directory.Delete(folder, recursive: true);

    private static ModelProto Model(string name) => name switch
    {
        "mlp" => TinyTransformers.ChannelsLastMlp(),
        "vit" => TinyTransformers.Vit(),
        _ => TinyTransformers.Swin(),
    };

    private static (VisionGraph Vision, LayerCatalog Catalog) Build(string name)
    {
        var manifest = new ModelManifest { Id = name, Model = name + ".onnx", Input = new InputSpec { Size = [Size, Size] } };
        var vision = VisionGraph.Compose(Model(name), manifest.Input, null, name);
        return (vision, LayerCatalogBuilder.Build(manifest, vision, Sessions));
    }

    [Theory]
    [InlineData("mlp")]
    [InlineData("vit")]
    [InlineData("swin")]
    public void Every_layer_passes_a_gradient_check(string name)
    {
        var (vision, catalog) = Build(name);
        var random = new Random(3);
        var image = Enumerable.Range(0, 2 * 3 * Size * Size).Select(_ => random.NextDouble()).ToArray();
        foreach (var layer in catalog.Layers)
        {
            var model = GradientBuilder.Build(vision.Model, Size, Size, new GradientRequest(layer.Tensor), ShapeProbes.OnCpu(Size, Size), layer.Id);
            using var session = new GradientSession(model, Sessions);

            // Two images, two different objectives: the channel mean of one unit and the centre neuron of another.
            var parameters = Objective.Parameters([Objective.Channel(layer.Units - 1), Objective.Neuron(0)], model.LayerShape, ObjectiveTerms.Linear);
            var check = GradientCheck.Run(session, image, 2, Size, Size, parameters, directions: 3);

            Assert.False(check.Vacuous, $"{name} {layer.Id}: nothing was checked");
            Assert.True(check.MaxRelativeError < 1e-2, $"{name} {layer.Id} ({layer.Layout}): max relative error {check.MaxRelativeError:E2}");
        }
    }

    [Theory]
    [InlineData("mlp", "N,H,W,C")]
    [InlineData("vit", "(T·N),C")]
    [InlineData("vit", "N,T,C")]
    [InlineData("swin", "N,H,W,C")]
    public void A_units_render_does_not_depend_on_the_batch_it_shared(string name, string layout)
    {
        var (vision, catalog) = Build(name);
        var layer = catalog.Layers.Last(l => l.Layout == layout && l.Token is null);
        var options = new RenderOptions { Size = Size, Steps = 6, Seed = 2, Fourier = false, Transforms = Microscope.Optvis.Transforms.TransformPipeline.None };

        var together = FeatureVisualization.Render(vision, layer, [0, 1, 2], FeatureObjective.Channel, options, 3, Sessions);
        var alone = FeatureVisualization.Render(vision, layer, [1], FeatureObjective.Channel, options, 1, Sessions).Single();

        var shared = together.Single(r => r.Unit == 1);
        var worst = alone.Image.Zip(shared.Image, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(worst < 1e-4, $"{name} {layer.Id}: unit 1 alone and in a batch of 3 differ by up to {worst}");
        Assert.True(alone.FinalObjective > alone.StartObjective, $"{name} {layer.Id}: {alone.StartObjective} → {alone.FinalObjective}");
    }

    [Theory]
    [InlineData("vit")]
    [InlineData("swin")]
    public void Dataset_examples_find_positions_on_the_grid_whatever_the_batch(string name)
    {
        var (vision, catalog) = Build(name);
        var layers = catalog.Layers.Where(l => l.Layout != "N,C,H,W" && l.Op != "Gemm" || l.Layout == "(T·N),C").ToList();
        var files = DatasetScanner.Files(folder);

        var batched = DatasetScanner.Scan(vision, layers, folder, files, Size, 3, 5, Sessions);
        var single = DatasetScanner.Scan(vision, layers, folder, files, Size, 3, 1, Sessions);

        Assert.Equal(13, batched.Images);
        for (var i = 0; i < layers.Count; i++)
        {
            var layer = layers[i];
            for (var u = 0; u < layer.Units; u++)
            {
                var (a, b) = (batched.Layers[i].Units[u], single.Layers[i].Units[u]);
                Assert.Equal(b.Top.Select(e => (e.Image, e.X, e.Y)), a.Top.Select(e => (e.Image, e.X, e.Y)));
                Assert.Equal(b.Top.Select(e => e.Activation), a.Top.Select(e => e.Activation), (x, y) => Math.Abs(x - y) < 1e-4);
                Assert.All(a.Top, e => Assert.True(layer.Shape.Length == 1 ? e.X == 0 && e.Y == 0 : e.X < layer.Shape[2] && e.Y < layer.Shape[1], $"{layer.Id}: ({e.X}, {e.Y})"));
            }
        }

        // Tokens after attention see the whole image, and the field says so; the patch embedding sees its patch.
        var attended = batched.Layers.Last(l => l.Layer.Layout is "N,T,C" or "N,H,W,C");
        Assert.True(attended.Field.WholeImage, $"{attended.Layer.Id}: {attended.Field.Describe()}");
        Assert.Equal("the whole image (after attention)", attended.Field.Describe());
        var stem = catalog.Layers.First(l => l.Layout is "N,T,C" or "N,H,W,C");
        var stemField = ReceptiveField.Of(vision.Graph, stem.Tensor, Size);
        Assert.False(stemField.WholeImage);
        Assert.Equal("a 2×2 px window", stemField.Describe());
    }
}
