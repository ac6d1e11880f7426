using Microscope.Optvis.Transforms;

namespace Microscope.Lenses.DatasetExamples;

/// <summary>A unit's dataset examples as a picture: the receptive-field crops in the first row, the full images under them.</summary>
public static class Mosaic
{
    public const int Tile = 64;

    public static byte[] Render(string folder, IReadOnlyList<Example> examples, ReceptiveField field, int size)
    {
        var crops = new List<float[]>();
        var full = new List<float[]>();
        foreach (var example in examples)
        {
            var image = SeedImages.Load(Path.Combine(folder, example.Image), size);
            var (left, top, side) = field.Window(example.X, example.Y, size);
            var crop = new float[3 * Tile * Tile];
            new Bilinear(size, size, Tile, Tile, (x, y) => (left + (x * side / Tile), top + (y * side / Tile))).Forward(image, crop);
            crops.Add(crop);
            var thumbnail = new float[3 * Tile * Tile];
            Bilinear.Resize(size, size, Tile, Tile).Forward(image, thumbnail);
            full.Add(thumbnail);
        }

        return Png.Sheet([.. crops, .. full], Tile, Tile, Math.Max(1, examples.Count));
    }
}
