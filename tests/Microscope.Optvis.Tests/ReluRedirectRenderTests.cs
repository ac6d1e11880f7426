using Microscope.Inference;
using Microscope.Lenses;
using Microscope.Onnx;
using Microscope.Onnx.Gradients;
using Microscope.Optvis.Resident;
using Microscope.Testing;

namespace Microscope.Optvis.Tests;

/// <summary>
/// Lucid's redirected ReLU gradient in feature visualization: a unit the start image leaves dead
/// renders with it and stays blank without it, through the host loop and the device loop alike.
/// </summary>
public sealed class ReluRedirectRenderTests
{
    private static readonly SessionFactory Host = new(new SessionSettings { Loop = RenderLoop.Host });
    private static readonly SessionFactory Device = new(new SessionSettings { Loop = RenderLoop.Device });

    private static readonly RenderOptions Quick = new() { Size = 32, Steps = 32, Seed = 3, LearningRate = 0.05 };

    /// <summary>
    /// Relu of a 1×1 convolution: unit 0 is r + g + b − 1.8, dead on the grey start image (−0.3) and
    /// alive on a brighter one; unit 1 is r − g, alive on half of any image.
    /// </summary>
    private static (VisionGraph Vision, Layer Layer) DeadAtTheStart()
    {
        var m = new TinyModel(seed: 2);
        var x = m.Input("x", -1, 3, -1, -1);
        var weights = m.Constant([2, 3, 1, 1], [1, 1, 1, 1, -1, 0]);
        var conv = m.Op("Conv", [x, weights, m.Constant([2], [-1.8, 0])], ("kernel_shape", new long[] { 1, 1 }));
        m.Output(m.Relu(conv));
        var manifest = new ModelManifest { Id = "dead", Model = "dead.onnx", Input = new InputSpec { Size = [32, 32] } };
        var vision = VisionGraph.Compose(m.Build(), manifest.Input, null, "dead");
        var catalog = LayerCatalogBuilder.Build(manifest, vision, Host);
        return (vision, catalog.Layers.Single(l => vision.Graph.Producer(l.Tensor)?.OpType == "Relu"));
    }

    [Fact]
    public void A_unit_dead_on_the_start_image_renders_with_the_redirect_and_stays_blank_without()
    {
        var (vision, layer) = DeadAtTheStart();

        var redirected = FeatureVisualization.Render(vision, layer, [0], FeatureObjective.Channel, Quick, 1, Host).Single();
        var blank = FeatureVisualization.Render(vision, layer, [0], FeatureObjective.Channel, Quick with { ReluRedirect = false }, 1, Host).Single();

        Assert.Equal(0, redirected.StartObjective);
        Assert.Equal(0, blank.StartObjective);
        Assert.Equal(0, blank.FinalObjective);
        Assert.True(redirected.FinalObjective > 0.02, $"the dead unit reached only {redirected.FinalObjective}");
        var spread = redirected.Image.Max() - redirected.Image.Min();
        Assert.True(spread > 0.05, $"the render is nearly flat (values within {spread})");
    }

    [Fact]
    public void A_live_unit_renders_the_same_with_and_without_the_redirect()
    {
        var (vision, layer) = DeadAtTheStart();

        var redirected = FeatureVisualization.Render(vision, layer, [1], FeatureObjective.Channel, Quick, 1, Host).Single();
        var exact = FeatureVisualization.Render(vision, layer, [1], FeatureObjective.Channel, Quick with { ReluRedirect = false }, 1, Host).Single();

        Assert.Equal(exact.Image, redirected.Image);
    }

    // Units 0 (dead at the start) and 1 in one batch, through both loops: the switch is fed and
    // flipped at the same step in each, and their renders agree to float rounding.
    [Fact]
    public void The_device_loop_redirects_as_the_host_loop_does()
    {
        var (vision, layer) = DeadAtTheStart();
        var model = GradientBuilder.Build(vision.Model, 32, 32, new GradientRequest(layer.Tensor, ReluRedirect: true), ShapeProbes.OnCpu(32, 32), layer.Id);
        Objective[] objectives = [Objective.Channel(0), Objective.Channel(1)];
        var options = Quick with { Steps = 20, LearningRate = 0.1 };

        var host = Renderer.Render(model, Host, objectives, options);
        var device = ResidentRenderer.Render(model, Device, objectives, options);
        var exact = ResidentRenderer.Render(model, Device, objectives, options with { ReluRedirect = false });

        var worst = host.Images.Zip(device.Images, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(worst < 2e-3, $"images differ by up to {worst}");
        Assert.True(host.FinalObjective[0] > 0.02 && device.FinalObjective[0] > 0.02, $"dead unit: host {host.FinalObjective[0]}, device {device.FinalObjective[0]}");
        Assert.Equal(0, exact.FinalObjective[0]);
    }
}
