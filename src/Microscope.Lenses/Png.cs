using SkiaSharp;

namespace Microscope.Lenses;

/// <summary>PNG encoding of planar RGB images in [0, 1] (3×H×W), and contact sheets of several.</summary>
public static class Png
{
    public static byte[] Encode(ReadOnlySpan<float> image, int height, int width)
    {
        using var bitmap = ToBitmap(image, height, width);
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    /// <summary>Images side by side in a grid of <paramref name="columns"/>, with a gap of grey.</summary>
    public static byte[] Sheet(IReadOnlyList<float[]> images, int height, int width, int columns, int gap = 4)
    {
        var rows = (images.Count + columns - 1) / columns;
        using var sheet = new SKBitmap((columns * (width + gap)) + gap, (rows * (height + gap)) + gap, SKColorType.Rgba8888, SKAlphaType.Opaque);
        using (var canvas = new SKCanvas(sheet))
        {
            canvas.Clear(new SKColor(40, 40, 40));
            for (var i = 0; i < images.Count; i++)
            {
                using var tile = ToBitmap(images[i], height, width);
                using var tileImage = SKImage.FromBitmap(tile);
                canvas.DrawImage(tileImage, gap + ((i % columns) * (width + gap)), gap + ((i / columns) * (height + gap)), new SKSamplingOptions(SKFilterMode.Nearest));
            }
        }

        using var data = sheet.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    private static SKBitmap ToBitmap(ReadOnlySpan<float> image, int height, int width)
    {
        var bitmap = new SKBitmap(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        var pixels = new byte[width * height * 4];
        var plane = width * height;
        for (var p = 0; p < plane; p++)
        {
            pixels[(p * 4) + 0] = ToByte(image[p]);
            pixels[(p * 4) + 1] = ToByte(image[plane + p]);
            pixels[(p * 4) + 2] = ToByte(image[(2 * plane) + p]);
            pixels[(p * 4) + 3] = 255;
        }

        System.Runtime.InteropServices.Marshal.Copy(pixels, 0, bitmap.GetPixels(), pixels.Length);
        return bitmap;
    }

    private static byte ToByte(float value) => (byte)Math.Clamp((int)MathF.Round(value * 255), 0, 255);
}
