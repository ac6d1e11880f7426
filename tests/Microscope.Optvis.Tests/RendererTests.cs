using Microscope.Inference;
using Microscope.Lenses;
using Microscope.Onnx;
using Microscope.Onnx.Gradients;
using Microscope.Testing;

namespace Microscope.Optvis.Tests;

public sealed class RendererTests
{
    private static readonly SessionFactory Sessions = new(new SessionSettings());

    private static (VisionGraph Vision, Layer Layer) Small()
    {
        // A convolution: every unit has a gradient everywhere, and its best image (each pixel pushed
        // to 0 or 1 by the sign of the weights) is far above a grey one.
        var m = new TinyModel(seed: 4);
        var x = m.Input("x", -1, 3, -1, -1);
        m.Output(m.Conv(m.Op("Mul", [x, m.Constant([], [4])]), 3, 4));
        var manifest = new ModelManifest { Id = "small", Model = "small.onnx", Input = new InputSpec { Size = [32, 32] } };
        var vision = VisionGraph.Compose(m.Build(), manifest.Input, null, "small");
        var catalog = LayerCatalogBuilder.Build(manifest, vision, Sessions);
        return (vision, catalog.Layers.Single());
    }

    private static readonly RenderOptions Quick = new() { Size = 32, Steps = 40, Seed = 3 };

    /// <param name="lucid">
    /// Plain pixels and no transforms head straight for the (binary, sharp) best image; the Fourier
    /// parameterization's 1/f prior and the transforms hold sharp patterns back, so Lucid's setup
    /// closes less of the gap in the same steps.
    /// </param>
    [Theory]
    [InlineData(false, 0.5)]
    [InlineData(true, 0.4)]
    public void Feature_visualization_raises_the_objective_far_above_its_start(bool lucid, double gapClosed)
    {
        var (vision, layer) = Small();
        var options = Quick with { Steps = 60, LearningRate = 0.3, Fourier = lucid, Transforms = lucid ? null : Transforms.TransformPipeline.None };

        var renders = FeatureVisualization.Render(vision, layer, [0, 1, 2, 3], FeatureObjective.Channel, options, 4, Sessions);

        // The objective is linear in the image, so its best image in [0, 1] is known exactly: each
        // pixel at 1 where the gradient is positive, else 0. The render must close most of the gap.
        var model = GradientBuilder.Build(vision.Model, 32, 32, new GradientRequest(layer.Tensor), ShapeProbes.OnCpu(32, 32), layer.Id);
        using var session = new GradientSession(model, Sessions);
        Assert.Equal(4, renders.Count);
        foreach (var render in renders)
        {
            var parameters = Objective.Parameters([Objective.Channel(render.Unit)], model.LayerShape, ObjectiveTerms.Linear);
            var grey = session.Run(Enumerable.Repeat(0.5, 3 * 32 * 32).ToArray(), 1, 32, 32, parameters);
            var best = session.Run([.. grey.Gradient.Select(g => g > 0 ? 1.0 : 0.0)], 1, 32, 32, parameters).Objective[0];
            var closed = (render.FinalObjective - render.StartObjective) / (best - render.StartObjective);
            Assert.True(closed > gapClosed, $"unit {render.Unit}: {render.StartObjective:F3} → {render.FinalObjective:F3}, best {best:F3}: closed {closed:P0} of the gap");
            Assert.All(render.Image, v => Assert.InRange(v, 0f, 1f));
            Assert.True(render.RobustObjective > render.StartObjective, $"unit {render.Unit}: under transforms {render.RobustObjective:F3}, start {render.StartObjective:F3}");
        }
    }

    [Fact]
    public void Negative_lowers_the_channel()
    {
        var (vision, layer) = Small();
        var render = Assert.Single(FeatureVisualization.Render(vision, layer, [2], FeatureObjective.Negative, Quick, 1, Sessions));
        Assert.True(render.FinalObjective > render.StartObjective, "the negative objective (−channel) should rise");
    }

    [Fact]
    public void The_same_seed_gives_a_byte_identical_png_and_another_seed_does_not()
    {
        var (vision, layer) = Small();
        byte[] Png(int seed) => FeatureVisualization.Render(vision, layer, [1], FeatureObjective.Channel, Quick with { Seed = seed, Steps = 10 }, 1, Sessions)[0].ToPng();

        Assert.Equal(Png(7), Png(7));
        Assert.NotEqual(Png(7), Png(8));
    }

    [Fact]
    public void A_units_render_does_not_depend_on_the_batch_it_shared()
    {
        // Batch size adapts to free device memory, so a unit must render the same alone or with others.
        var (vision, layer) = Small();
        var options = Quick with { Steps = 8 };
        var together = FeatureVisualization.Render(vision, layer, [0, 1, 2], FeatureObjective.Channel, options, 3, Sessions);
        var alone = FeatureVisualization.Render(vision, layer, [1], FeatureObjective.Channel, options, 1, Sessions).Single();
        var shared = together.Single(r => r.Unit == 1);

        Assert.Equal(alone.Image.Length, shared.Image.Length);
        var worst = alone.Image.Zip(shared.Image, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(worst < 1e-4, $"unit 1 alone and in a batch of 3 differ by up to {worst}");
        Assert.NotEqual(together[0].Image, together[2].Image);
    }

    [Fact]
    public void Diversity_renders_several_different_images_of_one_unit()
    {
        var (vision, layer) = Small();
        var renders = FeatureVisualization.Render(vision, layer, [1], FeatureObjective.Diverse, Quick with { Steps = 10 }, 3, Sessions);
        Assert.Equal(3, renders.Count);
        Assert.Equal([0, 1, 2], renders.Select(r => r.Index));
        Assert.NotEqual(renders[0].Image, renders[1].Image);
    }

    [Fact]
    public void Units_out_of_range_are_refused()
    {
        var (vision, layer) = Small();
        Assert.Throws<UnknownLayerException>(() => FeatureVisualization.Render(vision, layer, [layer.Units], FeatureObjective.Channel, Quick, 1, Sessions));
    }

    [Fact]
    public void The_render_loop_calls_back_with_progress()
    {
        var (vision, layer) = Small();
        var seen = new List<int>();
        var model = GradientBuilder.Build(vision.Model, 32, 32, new GradientRequest(layer.Tensor), ShapeProbes.OnCpu(32, 32), layer.Id);
        Renderer.Render(model, Sessions, [Objective.Channel(0)], Quick with { Steps = 5 }, new Collect(seen));
        Assert.Equal([1, 2, 3, 4, 5], seen);
    }

    private sealed class Collect(List<int> seen) : IProgress<RenderProgress>
    {
        public void Report(RenderProgress value) => seen.Add(value.Step);
    }
}
