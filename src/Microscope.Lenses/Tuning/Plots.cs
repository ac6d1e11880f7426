using SkiaSharp;

namespace Microscope.Lenses.Tuning;

/// <summary>
/// Tuning curves as pictures: a line plot for one axis, a heatmap for two, and a compact radial plot
/// for orientation (as in the Circuits thread's curve-detector article). Axis labels are drawn with
/// the default typeface where the machine has one.
/// </summary>
public static class Plots
{
    private static readonly SKColor Ink = new(30, 30, 30);
    private static readonly SKColor Accent = new(220, 80, 40);

    public static byte[] Render(TuningCurve curve) => curve.Axes.Count switch
    {
        1 when curve.Axes[0].Name is "orientation" or "hue" => Radial(curve),
        1 => Line(curve),
        _ => Heatmap(curve),
    };

    public static byte[] Line(TuningCurve curve)
    {
        const int width = 480, height = 240, margin = 36;
        return Draw(width, height, canvas =>
        {
            var axis = curve.Axes[0];
            var (min, max) = Range(curve.Responses);
            using var frame = new SKPaint { Color = Ink, Style = SKPaintStyle.Stroke, StrokeWidth = 1, IsAntialias = true };
            canvas.DrawRect(margin, margin / 2, width - (1.5f * margin), height - (1.5f * margin), frame);
            using var line = new SKPaint { Color = Accent, Style = SKPaintStyle.Stroke, StrokeWidth = 2.5f, IsAntialias = true };
            var points = new SKPoint[curve.Responses.Length];
            for (var i = 0; i < points.Length; i++)
            {
                points[i] = new SKPoint(
                    margin + ((width - (1.5f * margin)) * i / Math.Max(1, points.Length - 1)),
                    (margin / 2) + ((height - (1.5f * margin)) * (float)(1 - ((curve.Responses[i] - min) / (max - min)))));
            }

            canvas.DrawPoints(SKPointMode.Polygon, points, line);
            Label(canvas, $"{axis.Name} ({axis.Values[0]:G4} to {axis.Values[^1]:G4} {axis.Unit})", margin, height - 8);
            Label(canvas, $"{max:G4}", 2, (margin / 2) + 10);
            Label(canvas, $"{min:G4}", 2, height - margin);
        });
    }

    public static byte[] Heatmap(TuningCurve curve)
    {
        var (rows, columns) = (curve.Axes[0].Values.Length, curve.Axes[1].Values.Length);
        const int cell = 18, margin = 40;
        var (width, height) = ((columns * cell) + margin + 10, (rows * cell) + margin + 10);
        return Draw(width, height, canvas =>
        {
            var (min, max) = Range(curve.Responses);
            using var paint = new SKPaint();
            for (var r = 0; r < rows; r++)
            {
                for (var c = 0; c < columns; c++)
                {
                    paint.Color = Colormap((curve.Responses[(r * columns) + c] - min) / (max - min));
                    canvas.DrawRect(margin + (c * cell), 10 + (r * cell), cell, cell, paint);
                }
            }

            Label(canvas, $"{curve.Axes[1].Name} →", margin, height - 8);
            Label(canvas, $"{curve.Axes[0].Name} ↓", 2, 10 + (rows * cell / 2));
        });
    }

    public static byte[] Radial(TuningCurve curve)
    {
        const int size = 240;
        return Draw(size, size, canvas =>
        {
            var axis = curve.Axes[0];
            var (min, max) = Range(curve.Responses);
            var (c, radius) = (size / 2f, (size / 2f) - 16);
            using var guide = new SKPaint { Color = new SKColor(200, 200, 200), Style = SKPaintStyle.Stroke, StrokeWidth = 1, IsAntialias = true };
            canvas.DrawCircle(c, c, radius, guide);
            canvas.DrawCircle(c, c, radius / 2, guide);

            // Orientations span 180°: the plot mirrors them so a line detector shows as a symmetric lobe.
            var mirrored = axis.Name == "orientation" && axis.Values[^1] < 180;
            using var fill = new SKPaint { Color = Accent.WithAlpha(150), Style = SKPaintStyle.Fill, IsAntialias = true };
            var angles = mirrored ? axis.Values.Concat(axis.Values.Select(v => v + 180)).ToArray() : axis.Values;
            var values = mirrored ? curve.Responses.Concat(curve.Responses).ToArray() : curve.Responses;
            var outline = new System.Text.StringBuilder();
            for (var i = 0; i < angles.Length; i++)
            {
                var r = radius * (0.05 + (0.95 * (values[i] - min) / (max - min)));
                var a = angles[i] * Math.PI / 180;
                outline.Append(System.Globalization.CultureInfo.InvariantCulture, $"{(i == 0 ? 'M' : 'L')}{c + (r * Math.Cos(a)):F2} {c - (r * Math.Sin(a)):F2} ");
            }

            using var path = SKPath.ParseSvgPathData(outline.Append('Z').ToString());
            canvas.DrawPath(path, fill);
            Label(canvas, $"{curve.Family}, unit {curve.Unit}", 4, size - 4);
        });
    }

    private static (double Min, double Max) Range(double[] values)
    {
        var (min, max) = (values.Min(), values.Max());
        return max > min ? (min, max) : (min - 1, max + 1);
    }

    /// <summary>A perceptual dark-blue → teal → yellow ramp (viridis-like).</summary>
    private static SKColor Colormap(double t)
    {
        SKColor[] stops = [new(68, 1, 84), new(59, 82, 139), new(33, 145, 140), new(94, 201, 98), new(253, 231, 37)];
        t = Math.Clamp(t, 0, 1) * (stops.Length - 1);
        var i = Math.Min((int)t, stops.Length - 2);
        var f = t - i;
        byte Mix(byte a, byte b) => (byte)Math.Round(a + ((b - a) * f));
        return new SKColor(Mix(stops[i].Red, stops[i + 1].Red), Mix(stops[i].Green, stops[i + 1].Green), Mix(stops[i].Blue, stops[i + 1].Blue));
    }

    private static void Label(SKCanvas canvas, string text, float x, float y)
    {
        using var font = new SKFont(SKTypeface.Default, 11);
        using var paint = new SKPaint { Color = Ink, IsAntialias = true };
        canvas.DrawText(text, x, y, SKTextAlign.Left, font, paint);
    }

    private static byte[] Draw(int width, int height, Action<SKCanvas> draw)
    {
        using var bitmap = new SKBitmap(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(SKColors.White);
            draw(canvas);
        }

        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }
}
