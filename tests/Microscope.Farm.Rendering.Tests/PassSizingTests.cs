using Microscope.Farm.Storage;
using Microscope.Inference;
using Microscope.Lenses;
using Microscope.Onnx.Gradients;
using Microscope.Testing;
using Microsoft.Extensions.Logging;
using SkiaSharp;

namespace Microscope.Farm.Rendering.Tests;

/// <summary>An item's units split into passes that fit the device's memory (read from a supplied reading: there is no GPU here), with the pictures of one pass.</summary>
public sealed class PassSizingTests(RenderFixture fixture) : IClassFixture<RenderFixture>
{
    [Fact]
    public async Task Units_that_do_not_fit_one_pass_render_in_several_with_the_pictures_of_one()
    {
        var item = fixture.Item("featurevis", [0, 1, 2, 3], seed: 7);
        var estimate = await EstimateAsync(item);

        // Room for two images and a half per pass: four units take two passes.
        var free = (long)((estimate.PassBytes(2) + (estimate.BytesPerImage / 2)) / new BatchSizing().MemoryHeadroom);
        var split = await fixture.Engine(memory: new FreeMemory(free)).RenderAsync(item, null, CancellationToken.None);

        // The same item from another store (the same model published there), all in one pass.
        var other = new FileSystemLensStore(fixture.NewFolder("lenses"));
        await ModelPackages.PublishFileAsync(other, fixture.ModelPath);
        var whole = await fixture.Engine(store: other, memory: new FreeMemory(1L << 40)).RenderAsync(item, null, CancellationToken.None);

        Assert.Equal(2 * item.Options.Steps, split.OptimizationSteps);
        Assert.Equal(item.Options.Steps, whole.OptimizationSteps);
        Assert.Equal(whole.Lenses.Select(l => l.Unit), split.Lenses.Select(l => l.Unit));
        for (var i = 0; i < whole.Lenses.Count; i++)
        {
            var a = await PixelsAsync(fixture.Store, split.Lenses[i].ImagePath);
            var b = await PixelsAsync(other, whole.Lenses[i].ImagePath);
            Assert.Equal(a.Length, b.Length);
            var worst = a.Zip(b, (x, y) => Math.Abs(x - y)).Max();
            Assert.True(worst <= 1, $"unit {whole.Lenses[i].Unit}: in two passes and in one its pictures differ by up to {worst} levels");
            Assert.Equal(whole.Lenses[i].Quality["objectiveAfter"], split.Lenses[i].Quality["objectiveAfter"], 1e-4);
        }
    }

    [Fact]
    public async Task A_diversity_unit_that_does_not_fit_still_renders_its_images_in_one_pass()
    {
        var item = fixture.Item("diversity", [2, 5], seed: 8);

        var result = await fixture.Engine(memory: new FreeMemory(1)).RenderAsync(item, null, CancellationToken.None);

        // One pass per unit, each with both of its images side by side.
        Assert.Equal(2 * item.Options.Steps, result.OptimizationSteps);
        Assert.Equal([2, 5], result.Lenses.Select(l => l.Unit));
        foreach (var lens in result.Lenses)
        {
            using var bitmap = SKBitmap.Decode((await fixture.Store.GetAsync(lens.ImagePath))!.Content.ToArray());
            Assert.Equal((item.Options.DiversityImages * (RenderFixture.Size + 4)) + 4, bitmap.Width);
        }
    }

    [Fact]
    public async Task The_pass_size_is_logged_once_per_model_layer_lens_and_size_with_its_numbers()
    {
        var item = fixture.Item("neuron", [0, 1, 2], seed: 9);
        var estimate = await EstimateAsync(item);
        var free = (long)((estimate.PassBytes(1) + (estimate.BytesPerImage / 2)) / new BatchSizing().MemoryHeadroom);
        var logger = new CapturingLogger<LensRenderEngine>();
        var engine = fixture.Engine(memory: new FreeMemory(free), logger: logger);

        await engine.RenderAsync(item, null, CancellationToken.None);
        await engine.RenderAsync(fixture.Item("neuron", [3, 4], seed: 9), null, CancellationToken.None);
        await engine.RenderAsync(fixture.Item("diversity", [3], seed: 9), null, CancellationToken.None);

        var neuron = Assert.Single(logger.Lines, l => l.Message.Contains(" neuron at 32 px: ", StringComparison.Ordinal));
        Assert.Equal(LogLevel.Information, neuron.Level);
        Assert.Contains($"{item.Model} {item.Layer} neuron at 32 px: 1 image per pass of 3", neuron.Message, StringComparison.Ordinal);
        Assert.Contains($"est. {DeviceMemoryReading.Bytes(estimate.BytesPerImage)} each", neuron.Message, StringComparison.Ordinal);
        Assert.Contains($"of {DeviceMemoryReading.Bytes(free)} free at start on cpu × 0.8 / 1 slot", neuron.Message, StringComparison.Ordinal);

        // Diversity's two images of a unit do not fit a budget of one and a half: one warning, and they render anyway.
        var diversity = Assert.Single(logger.Lines, l => l.Message.Contains(" diversity at 32 px: ", StringComparison.Ordinal));
        Assert.Equal(LogLevel.Warning, diversity.Level);
        Assert.Contains("2 images per pass of 2", diversity.Message, StringComparison.Ordinal);
        Assert.Contains("renders anyway", diversity.Message, StringComparison.Ordinal);
    }

    /// <summary>The estimate the engine makes for the item: its graph built at the size the model is fed.</summary>
    private async Task<RenderMemory> EstimateAsync(WorkItem item)
    {
        var model = await fixture.Cache().GetAsync(item.Model, item.ModelVersion);
        var layer = model.Layer(item.Layer);
        var options = FeatureVisualizationLens.Options(item.Options);
        var network = model.Vision.Spec.RenderSize ?? options.Size;
        var graph = GradientBuilder.Build(model.Vision.Model, network, network, new GradientRequest(layer.Tensor), ShapeProbes.OnCpu(network, network), layer.Id);
        return RenderMemory.Of(graph, options with { NetworkSize = network });
    }

    /// <summary>A device with this much free memory: there is no GPU to read here, and this machine's memory moves.</summary>
    private sealed class FreeMemory(long bytes) : IDeviceMemory
    {
        public DeviceMemoryReading Read(ExecutionDevice device) => new(device, bytes, 2 * bytes, "a test");
    }

    private static async Task<byte[]> PixelsAsync(ILensStore store, string path)
    {
        using var bitmap = SKBitmap.Decode((await store.GetAsync(path))!.Content.ToArray());
        return bitmap.Bytes;
    }
}
