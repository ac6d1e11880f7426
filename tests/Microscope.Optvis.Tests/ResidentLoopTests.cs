using Microscope.Inference;
using Microscope.Lenses;
using Microscope.Onnx;
using Microscope.Onnx.Gradients;
using Microscope.Optvis.Param;
using Microscope.Optvis.Resident;
using Microscope.Optvis.Transforms;
using Microscope.Testing;
using Microsoft.ML.OnnxRuntime;

namespace Microscope.Optvis.Tests;

/// <summary>
/// The device-resident loop (one ONNX graph per step, state bound in device memory) against the
/// host loop it replaces on GPUs: same gradients, same renders, to float rounding. On this machine
/// "the device" is the CPU, which runs the very same graphs and bindings.
/// </summary>
public sealed class ResidentLoopTests
{
    private static readonly SessionFactory Host = new(new SessionSettings { Loop = RenderLoop.Host });
    private static readonly SessionFactory Device = new(new SessionSettings { Loop = RenderLoop.Device });

    private static (VisionGraph Vision, Layer Layer) Small()
    {
        var m = new TinyModel(seed: 4);
        var x = m.Input("x", -1, 3, -1, -1);
        var conv = m.Conv(m.Op("Mul", [x, m.Constant([], [4])]), 3, 4);
        m.Output(m.Conv(m.Op("Relu", [conv]), 4, 5));
        var manifest = new ModelManifest { Id = "small", Model = "small.onnx", Input = new InputSpec { Size = [32, 32] } };
        var vision = VisionGraph.Compose(m.Build(), manifest.Input, null, "small");
        var catalog = LayerCatalogBuilder.Build(manifest, vision, Host);
        return (vision, catalog.Layers.Last());
    }

    [Theory]
    [InlineData(true, true, 32, 32)]
    [InlineData(true, false, 31, 40)]
    [InlineData(false, true, 32, 36)]
    [InlineData(false, false, 32, 32)]
    public void The_device_loop_renders_what_the_host_loop_renders(bool fourier, bool transforms, int size, int network)
    {
        var (vision, layer) = Small();
        var model = GradientBuilder.Build(vision.Model, network, network, new GradientRequest(layer.Tensor), ShapeProbes.OnCpu(network, network), layer.Id);
        var options = new RenderOptions
        {
            Size = size, NetworkSize = network, Steps = 12, Seed = 5, Fourier = fourier, LearningRate = 0.05,
            Transforms = transforms ? null : TransformPipeline.None,
        };
        Objective[] objectives = [Objective.Channel(0), Objective.Channel(3), -Objective.Channel(1)];

        var host = Renderer.Render(model, Host, objectives, options);
        var steps = new List<RenderProgress>();
        var device = ResidentRenderer.Render(model, Device, objectives, options, new Collect(steps));

        Assert.Equal(Enumerable.Range(1, 12), steps.Select(s => s.Step));
        AssertClose(host.StartObjective, device.StartObjective, 1e-4, "start");
        AssertClose(host.FinalObjective, device.FinalObjective, 2e-3, "final");
        AssertClose(host.RobustObjective, device.RobustObjective, 2e-3, "under transforms");
        var worst = host.Images.Zip(device.Images, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(worst < 2e-3, $"images differ by up to {worst}");
        Assert.True(device.FinalObjective.Average() > device.StartObjective.Average() + 0.01, "the device loop should raise the objectives");
    }

    [Fact]
    public void DeepDream_on_the_device_dreams_what_the_host_dreams()
    {
        var (vision, layer) = Small();
        var model = GradientBuilder.Build(vision.Model, 40, 40, new GradientRequest(layer.Tensor, ObjectiveTerms.L2), ShapeProbes.OnCpu(40, 40), layer.Id);
        var seed = Enumerable.Range(0, 3 * 40 * 40).Select(i => (float)((Math.Sin(i * 0.37) + 1) / 2)).ToArray();
        var options = new DreamOptions { Octaves = 3, OctaveScale = 1.3, StepsPerOctave = 5, Jitter = 6, Seed = 4, StepSize = 0.02 };

        var host = DeepDream.Dream(model, Host, seed, 40, options);
        var steps = new List<RenderProgress>();
        var device = DeepDream.Dream(model, Device, seed, 40, options, new Collect(steps));

        Assert.Equal(Enumerable.Range(1, 15), steps.Select(s => s.Step));
        var worst = host.Zip(device, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(worst < 2e-3, $"dreams differ by up to {worst}");
        var moved = seed.Zip(device, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(moved > 0.05, $"the dream moved the seed by at most {moved}");
    }

    [Fact]
    public void Renderer_picks_the_device_loop_when_asked_and_by_default_under_CUDA()
    {
        Assert.False(new SessionSettings().ResidentLoop);
        Assert.True(new SessionSettings { Device = ExecutionDevice.Cuda(0) }.ResidentLoop);
        Assert.False(new SessionSettings { Device = ExecutionDevice.Cuda(0), Loop = RenderLoop.Host }.ResidentLoop);
        Assert.True(new SessionSettings { Loop = RenderLoop.Device }.ResidentLoop);

        // Through the front door: Renderer.Render with the device loop equals the resident renderer itself.
        var (vision, layer) = Small();
        var model = GradientBuilder.Build(vision.Model, 32, 32, new GradientRequest(layer.Tensor), ShapeProbes.OnCpu(32, 32), layer.Id);
        var options = new RenderOptions { Size = 32, Steps = 3, Seed = 2 };
        Assert.Equal(
            ResidentRenderer.Render(model, Device, [Objective.Channel(2)], options).Images,
            Renderer.Render(model, Device, [Objective.Channel(2)], options).Images);
    }

    [Fact]
    public void A_pipeline_with_a_transform_the_device_graph_cannot_run_renders_on_the_host_loop()
    {
        var (vision, layer) = Small();
        var model = GradientBuilder.Build(vision.Model, 32, 32, new GradientRequest(layer.Tensor), ShapeProbes.OnCpu(32, 32), layer.Id);
        var options = new RenderOptions { Size = 32, Steps = 3, Seed = 2, Transforms = new TransformPipeline([new Pad(4), new Mirror()]) };

        Assert.False(ResidentRenderer.Supports(options, out var reason));
        Assert.Contains("Mirror", reason);
        Assert.Equal(
            Renderer.Render(model, Host, [Objective.Channel(1)], options).Images,
            Renderer.Render(model, Device, [Objective.Channel(1)], options).Images);
    }

    private static void AssertClose(double[] expected, double[] actual, double tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            var scale = Math.Max(1, Math.Abs(expected[i]));
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance * scale, $"{what}, image {i}: host {expected[i]}, device {actual[i]}");
        }
    }

    private sealed class Collect(List<RenderProgress> seen) : IProgress<RenderProgress>
    {
        public void Report(RenderProgress value) => seen.Add(value);
    }

    /// <summary>A left-right flip through an arbitrary coordinate map: no affine form is declared, so no device form.</summary>
    private sealed class Mirror : ITransform
    {
        public ITransformStep Sample(Random random, int height, int width) =>
            new Bilinear(height, width, height, width, (x, y) => (width - x, y));
    }
}
