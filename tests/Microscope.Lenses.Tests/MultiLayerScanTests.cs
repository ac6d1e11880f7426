using Microscope.Inference;
using Microscope.Lenses;
using Microscope.Lenses.DatasetExamples;
using Microscope.Onnx;
using Microscope.Testing;
using Microsoft.ML.OnnxRuntime;

namespace Microscope.Lenses.Tests;

/// <summary>
/// One scan for every layer: the same examples as a scan per layer, and the maxima and positions the
/// graph reduces equal those found by walking each full feature map on the host.
/// </summary>
public sealed class MultiLayerScanTests : IDisposable
{
    private static readonly SessionFactory Sessions = new(new SessionSettings());
    private readonly string folder = Directory.CreateTempSubdirectory("microscope-multiscan-").FullName;

    public MultiLayerScanTests()
    {
        var random = new Random(11);
        for (var i = 0; i < 13; i++)
        {
            var image = Enumerable.Range(0, 3 * 20 * 20).Select(_ => (float)random.NextDouble()).ToArray();
            File.WriteAllBytes(Path.Combine(folder, $"image{i:D2}.png"), Png.Encode(image, 20, 20));
        }

        File.WriteAllText(Path.Combine(folder, "broken.png"), "not an image");
    }

    public void Dispose() => Directory.Delete(folder, recursive: true);

    private static (VisionGraph Vision, IReadOnlyList<Layer> Layers) Small()
    {
        var manifest = new ModelManifest { Id = "small", Model = "small.onnx", Input = new InputSpec { Size = [16, 16] } };
        var vision = VisionGraph.Compose(TinyModel.SmallCnn(size: 16), manifest.Input, null, "small");
        return (vision, LayerCatalogBuilder.Build(manifest, vision, Sessions).Layers);
    }

    [Theory]
    [InlineData(16)]
    [InlineData(24)]
    public void A_scan_of_every_layer_equals_one_scan_per_layer(int size)
    {
        var (vision, layers) = Small();
        Assert.Contains(layers, l => !l.IsSpatial);
        Assert.True(layers.Count(l => l.IsSpatial) >= 3);
        var files = DatasetScanner.Files(folder);

        var all = DatasetScanner.Scan(vision, layers, folder, files, size, 3, 4, Sessions);

        Assert.Equal(13, all.Images);
        Assert.Equal(["broken.png"], all.Skipped);
        for (var l = 0; l < layers.Count; l++)
        {
            var alone = DatasetScanner.Scan(vision, [layers[l]], folder, files, size, 3, 5, Sessions);
            Assert.Equal(alone.Images, all.Images);
            foreach (var (a, b) in alone.Layers[0].Units.Zip(all.Layers[l].Units))
            {
                Assert.Equal(a.ToState().Top, b.ToState().Top);
                Assert.Equal(a.ToState().Bottom, b.ToState().Bottom);
                Assert.Equal(a.ToState().Histogram, b.ToState().Histogram);
                Assert.Equal(a.Mean, b.Mean, 12);
            }
        }
    }

    [Fact]
    public void Maxima_and_positions_reduced_in_the_graph_equal_the_full_maps_walked_on_the_host()
    {
        var (vision, layers) = Small();
        var files = DatasetScanner.Files(folder).Where(f => f != "broken.png").ToList();
        const int size = 24;
        var scan = DatasetScanner.Scan(vision, layers, folder, files, size, files.Count, 8, Sessions);

        var pixels = files.SelectMany(f => SeedImages.Load(Path.Combine(folder, f), size)).ToArray();
        foreach (var (layer, l) in layers.Select((layer, l) => (layer, l)).Where(p => p.layer.IsSpatial))
        {
            using var session = Sessions.Create(OnnxModelFile.ToBytes(vision.Graph.Truncate(layer.Tensor)), "reference");
            using var input = OrtValue.CreateTensorValueFromMemory(pixels, [files.Count, 3, size, size]);
            using var runOptions = new RunOptions();
            using var results = session.Session.Run(runOptions, [VisionGraph.ImageInput], [input], [layer.Tensor]);
            var shape = results[0].GetTensorTypeAndShape().Shape;
            var (units, plane, width) = ((int)shape[1], (int)(shape[2] * shape[3]), (int)shape[3]);
            var maps = results[0].GetTensorDataAsSpan<float>().ToArray();
            for (var n = 0; n < files.Count; n++)
            {
                for (var u = 0; u < units; u++)
                {
                    var map = maps.AsSpan(((n * units) + u) * plane, plane);
                    var best = 0;
                    for (var p = 1; p < plane; p++)
                    {
                        best = map[p] > map[best] ? p : best;
                    }

                    var found = Assert.Single(scan.Layers[l].Units[u].Top, e => e.Image == files[n]);
                    Assert.Equal(new Example(files[n], map[best], best % width, best / width), found);
                }
            }
        }
    }
}
