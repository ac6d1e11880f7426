using Microscope.Optvis.Transforms;

namespace Microscope.Lenses.DatasetExamples;

/// <summary>A unit's dataset examples as a picture: the receptive-field crops in the first row, the full images under them.</summary>
public static class Mosaic
{
    public const int Tile = 64;

    public static byte[] Render(string folder, IReadOnlyList<Example> examples, ReceptiveField field, int size) =>
        Render(ExampleImages.InFolder(folder, size), examples, field);

    /// <summary>The mosaic of <paramref name="examples"/>, each image taken from <paramref name="images"/> (decoded there once).</summary>
    public static byte[] Render(ExampleImages images, IReadOnlyList<Example> examples, ReceptiveField field)
    {
        var size = images.Size;
        var crops = new List<float[]>();
        var full = new List<float[]>();
        var thumbnail = Bilinear.Resize(size, size, Tile, Tile);
        foreach (var example in examples)
        {
            var image = images.Get(example.Image);
            var (left, top, side) = field.Window(example.X, example.Y, size);
            var crop = new float[3 * Tile * Tile];
            new Bilinear(size, size, Tile, Tile, (x, y) => (left + (x * side / Tile), top + (y * side / Tile))).Forward(image, crop);
            crops.Add(crop);
            var small = new float[3 * Tile * Tile];
            thumbnail.Forward(image, small);
            full.Add(small);
        }

        return Png.Sheet([.. crops, .. full], Tile, Tile, Math.Max(1, examples.Count));
    }

    /// <summary>
    /// The mosaics of many units at once, drawn and encoded in parallel, every image decoded once for
    /// all of them through <paramref name="images"/>; in the order of <paramref name="units"/>.
    /// </summary>
    public static byte[][] RenderAll(ExampleImages images, IReadOnlyList<IReadOnlyList<Example>> units, ReceptiveField field, CancellationToken cancellation = default)
    {
        var mosaics = new byte[units.Count][];
        Parallel.For(0, units.Count, new ParallelOptions { CancellationToken = cancellation }, u => mosaics[u] = Render(images, units[u], field));
        return mosaics;
    }
}
