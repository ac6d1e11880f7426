using Microscope.Lenses;
using SkiaSharp;

namespace Microscope.Lenses.Tests;

public sealed class PngTests
{
    [Fact]
    public void A_png_decodes_to_the_image()
    {
        var image = new float[3 * 2 * 3];
        for (var i = 0; i < image.Length; i++)
        {
            image[i] = i / (float)image.Length;
        }

        using var bitmap = SKBitmap.Decode(Png.Encode(image, 2, 3));

        Assert.Equal((3, 2), (bitmap.Width, bitmap.Height));
        var pixel = bitmap.GetPixel(2, 1); // p = 5
        Assert.Equal((byte)Math.Round(5 / 18.0 * 255), pixel.Red);
        Assert.Equal((byte)Math.Round(11 / 18.0 * 255), pixel.Green);
        Assert.Equal((byte)Math.Round(17 / 18.0 * 255), pixel.Blue);
    }

    [Fact]
    public void A_sheet_lays_images_out_in_a_grid()
    {
        var tiles = Enumerable.Range(0, 5).Select(_ => new float[3 * 8 * 8]).ToList();
        using var sheet = SKBitmap.Decode(Png.Sheet(tiles, 8, 8, columns: 3, gap: 2));
        Assert.Equal(((3 * 10) + 2, (2 * 10) + 2), (sheet.Width, sheet.Height));
    }
}
