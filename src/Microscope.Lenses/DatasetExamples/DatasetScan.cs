using Microscope.Inference;
using Microscope.Onnx;
using Microsoft.ML.OnnxRuntime;

namespace Microscope.Lenses.DatasetExamples;

/// <summary>The dataset examples of every unit of one layer.</summary>
public sealed class LayerExamples(Layer layer, ReceptiveField field, int k)
{
    public Layer Layer { get; } = layer;

    public ReceptiveField Field { get; } = field;

    public UnitExamples[] Units { get; } = [.. Enumerable.Range(0, layer.Units).Select(_ => new UnitExamples(k))];

    public void Merge(LayerExamples other)
    {
        for (var u = 0; u < Units.Length; u++)
        {
            Units[u].Merge(other.Units[u]);
        }
    }
}

/// <summary>The result of scanning images: per layer, per unit, the extremes; and what could not be read.</summary>
public sealed class DatasetScan(IReadOnlyList<LayerExamples> layers)
{
    public IReadOnlyList<LayerExamples> Layers { get; } = layers;

    public int Images { get; private set; }

    public List<string> Skipped { get; } = [];

    /// <summary>Adds another shard's scan into this one (exact: see <see cref="UnitExamples.Merge"/>).</summary>
    public void Merge(DatasetScan other)
    {
        for (var i = 0; i < Layers.Count; i++)
        {
            Layers[i].Merge(other.Layers[i]);
        }

        Images += other.Images;
        Skipped.AddRange(other.Skipped);
    }

    internal void Counted(int images) => Images += images;
}

/// <summary>
/// Dataset examples (forward only): streams a folder of images (recursively; JPEG, PNG, WebP of any
/// size, resized and centre-cropped to the model's size) through the model in batches, one forward
/// pass per batch for all chosen layers, and keeps each unit's top-k and bottom-k images by spatial
/// maximum with its position. Unreadable files are skipped and counted, never fatal.
/// </summary>
public static class DatasetScanner
{
    private static readonly string[] Extensions = [".jpg", ".jpeg", ".png", ".webp"];

    /// <summary>Image files under <paramref name="folder"/>, as ids relative to it, in ordinal order.</summary>
    public static IReadOnlyList<string> Files(string folder)
    {
        if (!Directory.Exists(folder))
        {
            throw new ModelFormatException($"{folder}: no such dataset folder.");
        }

        return [.. Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Where(f => Extensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
            .Select(f => Path.GetRelativePath(folder, f).Replace('\\', '/'))
            .Order(StringComparer.Ordinal)];
    }

    public static DatasetScan Scan(
        VisionGraph vision, IReadOnlyList<Layer> layers, string folder, IReadOnlyList<string> files, int size, int k, int batch, SessionFactory sessions,
        IProgress<(int Done, int Total)>? progress = null, CancellationToken cancellation = default) =>
        Scan(vision, layers, id => SeedImages.Load(Path.Combine(folder, id), size), files, size, k, batch, sessions, progress, cancellation);

    /// <summary>
    /// Scans <paramref name="files"/> once through every one of <paramref name="layers"/>: one forward
    /// pass per batch, each feature map reduced inside the graph (<see cref="ScanGraph"/>). The next
    /// batch is decoded while the model runs on this one. <paramref name="load"/> gives an image's
    /// planar RGB at <paramref name="size"/>², or throws <see cref="ModelFormatException"/> for an
    /// unreadable one, which is skipped and counted.
    /// </summary>
    public static DatasetScan Scan(
        VisionGraph vision, IReadOnlyList<Layer> layers, Func<string, float[]> load, IReadOnlyList<string> files, int size, int k, int batch, SessionFactory sessions,
        IProgress<(int Done, int Total)>? progress = null, CancellationToken cancellation = default)
    {
        var scan = new DatasetScan([.. layers.Select(l => new LayerExamples(l, ReceptiveField.Of(vision.Graph, l.Tensor, size), k))]);
        var graph = ScanGraph.Build(vision.Graph, layers);
        using var session = sessions.Create(graph.Model, "dataset examples");
        var chunks = files.Chunk(Math.Max(1, batch)).ToList();
        var done = 0;
        var next = chunks.Count > 0 ? Task.Run(() => Decode(chunks[0], load, size), cancellation) : null;
        for (var c = 0; c < chunks.Count; c++)
        {
            cancellation.ThrowIfCancellationRequested();
            var (ids, pixels, skipped) = next!.GetAwaiter().GetResult();
            next = c + 1 < chunks.Count && chunks[c + 1] is var following ? Task.Run(() => Decode(following, load, size), cancellation) : null;
            scan.Skipped.AddRange(skipped);
            if (ids.Count > 0)
            {
                using var input = OrtValue.CreateTensorValueFromMemory(pixels, [ids.Count, 3, size, size]);
                using var runOptions = new RunOptions();
                using var results = session.Session.Run(runOptions, [VisionGraph.ImageInput], [input], graph.Outputs);
                for (var l = 0; l < layers.Count; l++)
                {
                    var (maxima, positions, shape) = graph.Reads[l];
                    if (positions < 0)
                    {
                        Record(scan.Layers[l], results[maxima], ids);
                    }
                    else
                    {
                        Record(scan.Layers[l], results[maxima], results[positions], (int)results[shape].GetTensorDataAsSpan<long>()[3], ids);
                    }
                }

                scan.Counted(ids.Count);
            }

            done += chunks[c].Length;
            progress?.Report((done, files.Count));
        }

        return scan;
    }

    private static (List<string> Ids, float[] Pixels, List<string> Skipped) Decode(string[] chunk, Func<string, float[]> load, int size)
    {
        var ids = new List<string>();
        var skipped = new List<string>();
        var pixels = new float[chunk.Length * 3 * size * size];
        foreach (var id in chunk)
        {
            try
            {
                load(id).AsSpan().CopyTo(pixels.AsSpan(ids.Count * 3 * size * size, 3 * size * size));
                ids.Add(id);
            }
            catch (ModelFormatException)
            {
                skipped.Add(id);
            }
        }

        return (ids, ids.Count == chunk.Length ? pixels : pixels[..(ids.Count * 3 * size * size)], skipped);
    }

    /// <summary>A feature map's figures as the scan graph reduced them: per image and unit, the maximum and its flat position.</summary>
    private static void Record(LayerExamples layer, OrtValue maxima, OrtValue positions, int width, List<string> ids)
    {
        var values = maxima.GetTensorDataAsSpan<float>();
        var at = positions.GetTensorDataAsSpan<long>();
        var units = layer.Units.Length;
        for (var n = 0; n < ids.Count; n++)
        {
            for (var u = 0; u < units; u++)
            {
                var i = (n * units) + u;
                layer.Units[u].Add(new Example(ids[n], values[i], (int)(at[i] % width), (int)(at[i] / width)));
            }
        }
    }

    /// <summary>
    /// Each unit's spatial maximum on given images (planar RGB in [0, 1], <paramref name="imageSize"/>²),
    /// resampled to <paramref name="size"/> as the scan feeds the model: [image][unit], comparable with
    /// dataset-example activations.
    /// </summary>
    public static double[][] Maxima(VisionGraph vision, Layer layer, IReadOnlyList<float[]> images, int imageSize, int size, SessionFactory sessions)
    {
        using var session = sessions.Create(OnnxModelFile.ToBytes(vision.Graph.Truncate(layer.Tensor)), "spatial maxima");
        var pixels = new float[images.Count * 3 * size * size];
        var resize = Optvis.Transforms.Bilinear.Resize(imageSize, imageSize, size, size);
        for (var n = 0; n < images.Count; n++)
        {
            resize.Forward(images[n], pixels.AsSpan(n * 3 * size * size, 3 * size * size));
        }

        using var input = OrtValue.CreateTensorValueFromMemory(pixels, [images.Count, 3, size, size]);
        using var runOptions = new RunOptions();
        using var results = session.Session.Run(runOptions, [VisionGraph.ImageInput], [input], [layer.Tensor]);
        var examples = new LayerExamples(layer, ReceptiveField.Pixel, 1);
        var ids = Enumerable.Range(0, images.Count).Select(i => i.ToString("D6", System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Record(examples, results[0], ids, perImage: out var maxima);
        return maxima;
    }

    private static void Record(LayerExamples layer, OrtValue output, List<string> ids) => Record(layer, output, ids, out _);

    private static void Record(LayerExamples layer, OrtValue output, List<string> ids, out double[][] perImage)
    {
        var shape = output.GetTensorTypeAndShape().Shape;
        var values = output.GetTensorDataAsSpan<float>();
        var units = (int)shape[1];
        var (height, width) = shape.Length == 4 ? ((int)shape[2], (int)shape[3]) : (1, 1);
        var plane = height * width;
        perImage = new double[ids.Count][];
        for (var n = 0; n < ids.Count; n++)
        {
            perImage[n] = new double[units];
            for (var u = 0; u < units; u++)
            {
                var map = values.Slice(((n * units) + u) * plane, plane);
                var best = 0;
                for (var p = 1; p < plane; p++)
                {
                    if (map[p] > map[best])
                    {
                        best = p;
                    }
                }

                perImage[n][u] = map[best];
                layer.Units[u].Add(new Example(ids[n], map[best], best % width, best / width));
            }
        }
    }
}
