using Microscope.Onnx;
using SkiaSharp;

namespace Microscope.Lenses;

/// <summary>
/// Images that DeepDream and caricatures start from: the user's (JPEG, PNG, WebP, any size, resized
/// and centre-cropped to a square) or a built-in default drawn here, so that no photo ships with the
/// project.
/// </summary>
public static class SeedImages
{
    /// <summary>Loads an image file as planar RGB in [0, 1], size × size.</summary>
    public static float[] Load(string path, int size)
    {
        if (!File.Exists(path))
        {
            throw new ModelFormatException($"{path}: no such image.");
        }

        using var bitmap = Decode(path);
        return FromBitmap(bitmap, size);
    }

    /// <summary>
    /// Decodes a whole image. SKBitmap.Decode fills what a truncated file lacks with grey and says
    /// nothing; the codec reports it (IncompleteInput, ErrorInInput), so a damaged file is refused
    /// like an unreadable one instead of being used half grey.
    /// </summary>
    private static SKBitmap Decode(string path)
    {
        using var codec = SKCodec.Create(path)
            ?? throw new ModelFormatException($"{path}: not a readable image (JPEG, PNG or WebP expected).");
        var info = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Premul);
        var bitmap = new SKBitmap(info);
        var result = codec.GetPixels(info, bitmap.GetPixels());
        if (result != SKCodecResult.Success)
        {
            bitmap.Dispose();
            throw new ModelFormatException(result is SKCodecResult.IncompleteInput
                ? $"{path}: the image is truncated (the file ends before its last pixel)."
                : $"{path}: the image is damaged ({result}).");
        }

        return bitmap;
    }

    /// <summary>
    /// The built-in seed: a sky gradient over hills, a sun, a striped awning and a checkered floor,
    /// so that a layer finds edges, curves, textures and colours to amplify.
    /// </summary>
    public static float[] Default(int size)
    {
        using var bitmap = new SKBitmap(512, 512, SKColorType.Rgba8888, SKAlphaType.Opaque);
        using (var canvas = new SKCanvas(bitmap))
        using (var paint = new SKPaint { IsAntialias = true })
        {
            paint.Shader = SKShader.CreateLinearGradient(new SKPoint(0, 0), new SKPoint(0, 300), [new SKColor(70, 130, 200), new SKColor(220, 200, 170)], SKShaderTileMode.Clamp);
            canvas.DrawRect(0, 0, 512, 320, paint);
            paint.Shader = null;
            paint.Color = new SKColor(250, 210, 80);
            canvas.DrawCircle(390, 110, 55, paint);
            paint.Color = new SKColor(60, 120, 60);
            using (var hills = SKPath.ParseSvgPathData("M0 320 C120 200 220 260 300 300 C380 250 460 230 512 280 L512 340 L0 340 Z"))
            {
                canvas.DrawPath(hills, paint);
            }

            for (var i = 0; i < 8; i++)
            {
                paint.Color = i % 2 == 0 ? new SKColor(200, 40, 40) : new SKColor(240, 240, 230);
                canvas.DrawRect(40 + (i * 25), 150, 25, 60, paint);
            }

            for (var y = 0; y < 6; y++)
            {
                for (var x = 0; x < 16; x++)
                {
                    paint.Color = (x + y) % 2 == 0 ? new SKColor(40, 40, 40) : new SKColor(200, 190, 170);
                    canvas.DrawRect(x * 32, 340 + (y * 29), 32, 29, paint);
                }
            }
        }

        return FromBitmap(bitmap, size);
    }

    private static float[] FromBitmap(SKBitmap source, int size)
    {
        var side = Math.Min(source.Width, source.Height);
        var crop = new SKRectI((source.Width - side) / 2, (source.Height - side) / 2, ((source.Width - side) / 2) + side, ((source.Height - side) / 2) + side);
        using var square = new SKBitmap(size, size, SKColorType.Rgba8888, SKAlphaType.Opaque);
        using (var canvas = new SKCanvas(square))
        using (var image = SKImage.FromBitmap(source))
        {
            canvas.DrawImage(image, crop, new SKRect(0, 0, size, size), new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear));
        }

        var result = new float[3 * size * size];
        var plane = size * size;
        for (var y = 0; y < size; y++)
        {
            for (var x = 0; x < size; x++)
            {
                var pixel = square.GetPixel(x, y);
                var p = (y * size) + x;
                result[p] = pixel.Red / 255f;
                result[plane + p] = pixel.Green / 255f;
                result[(2 * plane) + p] = pixel.Blue / 255f;
            }
        }

        return result;
    }
}
