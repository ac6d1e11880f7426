using Microscope.Inference;
using Microscope.Lenses;
using Microscope.Lenses.DatasetExamples;
using Microscope.Onnx;
using Microscope.Testing;

namespace Microscope.Lenses.Tests;

/// <summary>Dataset examples on images the test draws itself (no dataset ships with the project).</summary>
public sealed class DatasetExampleTests : IDisposable
{
    private static readonly SessionFactory Sessions = new(new SessionSettings());
    private readonly string folder = Directory.CreateTempSubdirectory("microscope-dataset-").FullName;

    public DatasetExampleTests()
    {
        var random = new Random(6);
        for (var i = 0; i < 23; i++)
        {
            var image = Enumerable.Range(0, 3 * 20 * 20).Select(_ => (float)random.NextDouble()).ToArray();
            var sub = Path.Combine(folder, i % 3 == 0 ? "nested" : "");
            Directory.CreateDirectory(sub);
            File.WriteAllBytes(Path.Combine(sub, $"image{i:D2}.png"), Png.Encode(image, 20, 20));
        }

        File.WriteAllText(Path.Combine(folder, "broken.jpg"), "not an image");
        File.WriteAllBytes(Path.Combine(folder, "truncated.jpg"), TruncatedJpeg());
        File.WriteAllText(Path.Combine(folder, "notes.txt"), "ignored: not an image extension");
    }

    public void Dispose() => Directory.Delete(folder, recursive: true);

    /// <summary>A whole JPEG cut off halfway: SKBitmap.Decode would fill the rest with grey and call it an image.</summary>
    private static byte[] TruncatedJpeg()
    {
        using var bitmap = new SkiaSharp.SKBitmap(64, 64);
        bitmap.Erase(new SkiaSharp.SKColor(200, 30, 30));
        using var data = bitmap.Encode(SkiaSharp.SKEncodedImageFormat.Jpeg, 90);
        var whole = data.ToArray();
        return whole[..(whole.Length / 2)];
    }

    [Fact]
    public void A_truncated_jpeg_is_refused_as_truncated()
    {
        var error = Assert.Throws<ModelFormatException>(() => Microscope.Lenses.SeedImages.Load(Path.Combine(folder, "truncated.jpg"), 16));
        Assert.Contains("truncated", error.Message, StringComparison.Ordinal);
    }

    private static (VisionGraph Vision, Layer Layer) Small()
    {
        var manifest = new ModelManifest { Id = "small", Model = "small.onnx", Input = new InputSpec { Size = [16, 16] } };
        var vision = VisionGraph.Compose(TinyModel.SmallCnn(size: 16), manifest.Input, null, "small");
        var catalog = LayerCatalogBuilder.Build(manifest, vision, Sessions);
        return (vision, catalog.Layers.First(l => l.Op == "Conv"));
    }

    private DatasetScan Scan(IReadOnlyList<string> files, int k = 4, int batch = 5)
    {
        var (vision, layer) = Small();
        return DatasetScanner.Scan(vision, [layer], folder, files, 16, k, batch, Sessions);
    }

    [Fact]
    public void Top_k_equals_a_brute_force_sort_and_corrupt_files_are_skipped_and_counted()
    {
        var files = DatasetScanner.Files(folder);
        Assert.Equal(25, files.Count);
        Assert.Contains("nested/image00.png", files);

        var scan = Scan(files);
        var everything = Scan(files, k: 100);

        Assert.Equal(23, scan.Images);
        Assert.Equal(["broken.jpg", "truncated.jpg"], scan.Skipped.Order());
        foreach (var (unit, all) in scan.Layers[0].Units.Zip(everything.Layers[0].Units))
        {
            var sorted = all.Top.OrderByDescending(e => e.Activation).ThenBy(e => e.Image, StringComparer.Ordinal).ToList();
            Assert.Equal(23, sorted.Count);
            Assert.Equal(sorted.Take(4), unit.Top);
            Assert.Equal(sorted.AsEnumerable().Reverse().OrderBy(e => e.Activation).ThenBy(e => e.Image, StringComparer.Ordinal).Take(4), unit.Bottom);
            Assert.Equal(sorted.Average(e => e.Activation), unit.Mean, 6);
            foreach (var q in new[] { 0.1, 0.5, 0.9 })
            {
                var exact = sorted[(int)Math.Round((1 - q) * (sorted.Count - 1))].Activation;
                Assert.InRange(unit.Quantile(q), exact - (0.08 * Math.Abs(exact)) - 0.05, exact + (0.08 * Math.Abs(exact)) + 0.05);
            }
        }
    }

    [Fact]
    public void Shards_merged_in_any_order_equal_one_pass()
    {
        var files = DatasetScanner.Files(folder);
        var whole = Scan(files);
        var shards = files.Chunk(7).Select(chunk => Scan(chunk)).ToList();

        foreach (var order in new[] { new[] { 0, 1, 2, 3 }, [3, 1, 0, 2] })
        {
            var merged = Scan([]);
            foreach (var i in order)
            {
                merged.Merge(shards[i]);
            }

            Assert.Equal(whole.Images, merged.Images);
            foreach (var (a, b) in whole.Layers[0].Units.Zip(merged.Layers[0].Units))
            {
                Assert.Equal(a.Top, b.Top);
                Assert.Equal(a.Bottom, b.Bottom);
                Assert.Equal(a.Count, b.Count);
                Assert.Equal(a.Mean, b.Mean, 9);
                Assert.Equal(a.StandardDeviation, b.StandardDeviation, 9);
                Assert.Equal(a.Quantile(0.5), b.Quantile(0.5));
                Assert.Equal(a.Quantile(0.9), b.Quantile(0.9));
            }
        }
    }

    [Fact]
    public void Receptive_fields_follow_kernels_strides_and_pads()
    {
        var m = new TinyModel();
        var x = m.Input(VisionGraph.ImageInput, -1, 3, -1, -1);
        var a = m.Conv(x, 3, 2, kernel: 3, stride: 1, pad: 1);
        var b = m.Conv(a, 2, 2, kernel: 3, stride: 2, pad: 1);
        var c = m.Conv(b, 2, 2, kernel: 3, stride: 1, pad: 1);
        m.Output(c);
        var graph = new OnnxGraph(m.Build());

        Assert.Equal(3, ReceptiveField.Of(graph, a, 32).Size);
        Assert.Equal(5, ReceptiveField.Of(graph, b, 32).Size);
        var field = ReceptiveField.Of(graph, c, 32);
        Assert.Equal(9, field.Size);
        Assert.Equal(2, field.Jump);
        Assert.Equal(0.5, field.Offset);
        Assert.Equal((0, 0, 9), field.Window(0, 0, 32));
        Assert.Equal((6, 6, 9), field.Window(5, 5, 32));
    }

    [Fact]
    public void A_mosaic_shows_crops_over_full_images()
    {
        var files = DatasetScanner.Files(folder);
        var scan = Scan(files);
        var unit = scan.Layers[0].Units[1];
        using var mosaic = SkiaSharp.SKBitmap.Decode(Mosaic.Render(folder, unit.Top, scan.Layers[0].Field, 16));
        Assert.Equal((4 * (Mosaic.Tile + 4)) + 4, mosaic.Width);
        Assert.Equal((2 * (Mosaic.Tile + 4)) + 4, mosaic.Height);
    }

    [Fact]
    public void A_missing_folder_is_a_clear_error() =>
        Assert.Contains("no such dataset folder", Assert.Throws<ModelFormatException>(() => DatasetScanner.Files(Path.Combine(folder, "none"))).Message);
}
