using Microscope.Inference;
using Microscope.Lenses;
using Microscope.Onnx;
using Microscope.Onnx.Gradients;
using Microscope.Optvis;
using Microscope.Testing;

namespace Microscope.Lenses.Tests;

public sealed class LayerLensTests : IDisposable
{
    private static readonly SessionFactory Sessions = new(new SessionSettings());
    private readonly string folder = Directory.CreateTempSubdirectory("microscope-seed-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    private static (VisionGraph Vision, Layer Layer) Small()
    {
        var manifest = new ModelManifest { Id = "small", Model = "small.onnx", Input = new InputSpec { Size = [32, 32] } };
        var vision = VisionGraph.Compose(TinyModel.SmallCnn(size: 32), manifest.Input, null, "small");
        var catalog = LayerCatalogBuilder.Build(manifest, vision, Sessions);
        return (vision, catalog.Layers.First(l => l.Op == "Conv"));
    }

    private static double MeanSquare(VisionGraph vision, Layer layer, float[] image, int size)
    {
        var model = GradientBuilder.Build(vision.Model, size, size, new GradientRequest(layer.Tensor, ObjectiveTerms.L2), ShapeProbes.OnCpu(size, size), layer.Id);
        using var session = new GradientSession(model, Sessions);
        return session.Run([.. image.Select(v => (double)v)], 1, size, size, new ObjectiveParameters(null, [1])).Objective[0];
    }

    [Fact]
    public void DeepDream_amplifies_the_layer_on_the_seed_image()
    {
        var (vision, layer) = Small();
        var seed = SeedImages.Default(48);

        var dream = LayerLenses.DeepDream(vision, layer, seed, 48, new DreamOptions { Octaves = 2, StepsPerOctave = 10 }, Sessions);

        Assert.Equal(seed.Length, dream.Length);
        Assert.All(dream, v => Assert.InRange(v, 0f, 1f));
        Assert.True(MeanSquare(vision, layer, dream, 48) > 1.5 * MeanSquare(vision, layer, seed, 48));
    }

    [Fact]
    public void A_caricature_renders_the_layers_response_to_the_seed()
    {
        var (vision, layer) = Small();
        var path = Path.Combine(folder, "seed.png");
        File.WriteAllBytes(path, Png.Encode(SeedImages.Default(40), 40, 40));

        var result = LayerLenses.Caricature(vision, layer, path, new RenderOptions { Size = 32, Steps = 20 }, Sessions);

        Assert.Equal(3 * 32 * 32, result.Images.Length);
        Assert.True(result.FinalObjective[0] > result.StartObjective[0]);
    }

    [Fact]
    public void Seed_images_are_square_rgb_in_range_whatever_their_shape()
    {
        var wide = new float[3 * 20 * 60];
        Array.Fill(wide, 0.25f);
        var path = Path.Combine(folder, "wide.png");
        File.WriteAllBytes(path, Png.Sheet([wide], 20, 60, 1, gap: 0));

        var loaded = SeedImages.Load(path, 16);

        Assert.Equal(3 * 16 * 16, loaded.Length);
        Assert.All(loaded, v => Assert.Equal(0.25f, v, 0.01f));
    }

    [Fact]
    public void A_corrupt_or_missing_seed_image_is_a_clear_error()
    {
        var corrupt = Path.Combine(folder, "corrupt.jpg");
        File.WriteAllBytes(corrupt, [0xFF, 0xD8, 0xFF, 0x00, 0x12]);

        Assert.Contains("not a readable image", Assert.Throws<ModelFormatException>(() => SeedImages.Load(corrupt, 16)).Message);
        Assert.Contains("no such image", Assert.Throws<ModelFormatException>(() => SeedImages.Load(Path.Combine(folder, "none.png"), 16)).Message);
    }
}
