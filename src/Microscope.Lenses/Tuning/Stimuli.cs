using SkiaSharp;

namespace Microscope.Lenses.Tuning;

/// <summary>One axis of a stimulus family: a name and the values it takes.</summary>
public sealed record StimulusAxis(string Name, string Unit, double[] Values);

/// <summary>
/// A procedural family of synthetic images with its parameter axes, drawn (SkiaSharp) inside a
/// window (the unit's receptive field) on a grey image.
/// </summary>
public sealed record StimulusFamily(string Name, IReadOnlyList<StimulusAxis> Axes, Action<SKCanvas, SKRect, double[]> Draw)
{
    public static readonly IReadOnlyList<string> Names = ["lines", "edges", "curves", "gratings", "hue"];

    public static StimulusFamily Get(string name) => name switch
    {
        "lines" => Lines,
        "edges" => Edges,
        "curves" => Curves,
        "gratings" => Gratings,
        "hue" => Hue,
        _ => throw new Onnx.ModelFormatException($"'{name}' is not a stimulus family; use {string.Join(", ", Names)}."),
    };

    /// <summary>Every combination of axis values, in row-major order (the last axis varies fastest).</summary>
    public IReadOnlyList<double[]> Points()
    {
        IEnumerable<double[]> points = [[]];
        foreach (var axis in Axes)
        {
            points = points.SelectMany(p => axis.Values.Select(v => (double[])[.. p, v]));
        }

        return [.. points];
    }

    /// <summary>Draws one stimulus as planar RGB in [0, 1], size × size, inside <paramref name="window"/>.</summary>
    public float[] Render(int size, SKRect window, double[] point)
    {
        using var bitmap = new SKBitmap(size, size, SKColorType.Rgba8888, SKAlphaType.Opaque);
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(new SKColor(128, 128, 128));
            canvas.Save();
            canvas.ClipRect(window);
            Draw(canvas, window, point);
            canvas.Restore();
        }

        var result = new float[3 * size * size];
        var plane = size * size;
        for (var y = 0; y < size; y++)
        {
            for (var x = 0; x < size; x++)
            {
                var pixel = bitmap.GetPixel(x, y);
                result[(y * size) + x] = pixel.Red / 255f;
                result[plane + (y * size) + x] = pixel.Green / 255f;
                result[(2 * plane) + (y * size) + x] = pixel.Blue / 255f;
            }
        }

        return result;
    }

    private static double[] Range(double from, double to, double step) =>
        [.. Enumerable.Range(0, (int)Math.Round((to - from) / step)).Select(i => from + (i * step))];

    /// <summary>A white line through the window's centre; orientation in degrees, 0 = horizontal, counter-clockwise.</summary>
    public static readonly StimulusFamily Lines = new("lines", [new("orientation", "°", Range(0, 180, 5))], (canvas, window, p) =>
    {
        using var paint = new SKPaint { Color = SKColors.White, StrokeWidth = Math.Max(1.5f, window.Width / 12), IsAntialias = true };
        var (cx, cy, r) = (window.MidX, window.MidY, window.Width);
        var (dx, dy) = ((float)Math.Cos(p[0] * Math.PI / 180) * r, -(float)Math.Sin(p[0] * Math.PI / 180) * r);
        canvas.DrawLine(cx - dx, cy - dy, cx + dx, cy + dy, paint);
    });

    /// <summary>A black/white edge through the centre; orientation 0–360° (the white side turns with it).</summary>
    public static readonly StimulusFamily Edges = new("edges", [new("orientation", "°", Range(0, 360, 10))], (canvas, window, p) =>
    {
        using var paint = new SKPaint { Color = SKColors.White, IsAntialias = true };
        canvas.Save();
        canvas.RotateDegrees(-(float)p[0], window.MidX, window.MidY);
        canvas.DrawRect(window.MidX - (2 * window.Width), window.MidY - (2 * window.Height), 4 * window.Width, 2 * window.Height, paint);
        paint.Color = SKColors.Black;
        canvas.DrawRect(window.MidX - (2 * window.Width), window.MidY, 4 * window.Width, 2 * window.Height, paint);
        canvas.Restore();
    });

    /// <summary>
    /// An arc through the centre: orientation 0–360° (the direction its bulge points) × curvature in
    /// 1/window widths (0 is straight), as in the Circuits thread's curve detectors.
    /// </summary>
    public static readonly StimulusFamily Curves = new("curves", [new("orientation", "°", Range(0, 360, 15)), new("curvature", "1/RF", [0, 1, 2, 3, 4])], (canvas, window, p) =>
    {
        using var paint = new SKPaint { Color = SKColors.White, StrokeWidth = Math.Max(1.5f, window.Width / 12), IsAntialias = true, Style = SKPaintStyle.Stroke };
        canvas.Save();
        canvas.RotateDegrees(-(float)p[0], window.MidX, window.MidY);
        if (p[1] == 0)
        {
            canvas.DrawLine(window.MidX, window.MidY - window.Height, window.MidX, window.MidY + window.Height, paint);
        }
        else
        {
            // A circle of radius w/κ whose rightmost point is the centre: the arc bulges to the right (orientation 0).
            var radius = window.Width / (float)p[1];
            canvas.DrawCircle(window.MidX - radius, window.MidY, radius, paint);
        }

        canvas.Restore();
    });

    /// <summary>A sinusoidal grating filling the window: orientation 0–180° × spatial frequency in cycles per window.</summary>
    public static readonly StimulusFamily Gratings = new("gratings", [new("orientation", "°", Range(0, 180, 15)), new("frequency", "cycles/RF", [1, 2, 3, 4, 6])], (canvas, window, p) =>
    {
        var (cos, sin) = (Math.Cos(p[0] * Math.PI / 180), -Math.Sin(p[0] * Math.PI / 180));
        using var paint = new SKPaint();
        for (var y = (int)window.Top; y < (int)window.Bottom; y++)
        {
            for (var x = (int)window.Left; x < (int)window.Right; x++)
            {
                var along = (((x - window.MidX) * -sin) + ((y - window.MidY) * cos)) / window.Width;
                var value = (byte)Math.Round(127.5 + (127.5 * Math.Cos(2 * Math.PI * p[1] * along)));
                paint.Color = new SKColor(value, value, value);
                canvas.DrawPoint(x, y, paint);
            }
        }
    });

    /// <summary>A patch of one saturated colour filling the window: hue 0–360°.</summary>
    public static readonly StimulusFamily Hue = new("hue", [new("hue", "°", Range(0, 360, 10))], (canvas, window, p) =>
    {
        using var paint = new SKPaint { Color = SKColor.FromHsv((float)p[0], 100, 100) };
        canvas.DrawRect(window, paint);
    });
}
