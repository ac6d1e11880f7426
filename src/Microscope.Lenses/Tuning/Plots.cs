using System.Globalization;
using SkiaSharp;

namespace Microscope.Lenses.Tuning;

/// <summary>
/// Tuning curves as pictures: a line plot for one axis, a heatmap for two, and a compact radial plot
/// for orientation and hue (as in the Circuits thread's curve-detector article). Every plot has a
/// title (layer, unit, stimulus family) in its top band, axes with ticks and values, the stimulus
/// parameters' names and units, and the peak marked with its value. Text is drawn with
/// <see cref="PlotFont"/>; the PNG is deterministic for a given font file.
/// </summary>
public static class Plots
{
    /// <summary>The band at the top that holds only the title.</summary>
    public const int TitleBand = 24;

    private static readonly SKColor Ink = new(30, 30, 30);
    private static readonly SKColor Guide = new(200, 200, 200);
    private static readonly SKColor Accent = new(220, 80, 40);

    public static byte[] Render(TuningCurve curve) => curve.Axes.Count switch
    {
        1 when curve.Axes[0].Name is "orientation" or "hue" => Radial(curve),
        1 => Line(curve),
        _ => Heatmap(curve),
    };

    public static byte[] Line(TuningCurve curve)
    {
        const int width = 520, height = 320;
        const float left = 64, top = 40, right = width - 24, bottom = height - 60;
        return Draw(width, height, curve, canvas =>
        {
            var axis = curve.Axes[0];
            var (min, max) = Range(curve.Responses);
            var (from, to) = Range(axis.Values);
            float X(double v) => left + ((right - left) * (float)((v - from) / (to - from)));
            float Y(double v) => bottom - ((bottom - top) * (float)((v - min) / (max - min)));

            using var frame = Stroke(Ink, 1);
            canvas.DrawRect(left, top, right - left, bottom - top, frame);
            foreach (var tick in Ticks(min, max))
            {
                canvas.DrawLine(left - 5, Y(tick), left, Y(tick), frame);
                Text(canvas, Number(tick), left - 8, Y(tick) + 4, SKTextAlign.Right);
            }

            foreach (var tick in Ticks(from, to))
            {
                canvas.DrawLine(X(tick), bottom, X(tick), bottom + 5, frame);
                Text(canvas, Number(tick), X(tick), bottom + 18, SKTextAlign.Center);
            }

            Text(canvas, AxisName(axis), (left + right) / 2, bottom + 36, SKTextAlign.Center);
            Text(canvas, "response", left, top - 6, SKTextAlign.Left);

            using var line = Stroke(Accent, 2.5f);
            var points = axis.Values.Select((v, i) => new SKPoint(X(v), Y(curve.Responses[i]))).ToArray();
            canvas.DrawPoints(SKPointMode.Polygon, points, line);

            var best = Peak(curve);
            MarkPeak(canvas, points[best]);
            Text(canvas, $"peak {Number(curve.Responses[best])} at {Value(axis, axis.Values[best])}", width / 2f, height - 6, SKTextAlign.Center);
        });
    }

    public static byte[] Heatmap(TuningCurve curve)
    {
        var (rowAxis, columnAxis) = (curve.Axes[0], curve.Axes[1]);
        var (rows, columns) = (rowAxis.Values.Length, columnAxis.Values.Length);
        const int cell = 20, left = 72, top = TitleBand + 32;
        var width = Math.Max(320, left + (columns * cell) + 90);
        var height = top + (rows * cell) + 64;
        return Draw(width, height, curve, canvas =>
        {
            var (min, max) = Range(curve.Responses);
            using var paint = new SKPaint();
            for (var r = 0; r < rows; r++)
            {
                for (var c = 0; c < columns; c++)
                {
                    paint.Color = Colormap((curve.Responses[(r * columns) + c] - min) / (max - min));
                    canvas.DrawRect(left + (c * cell), top + (r * cell), cell, cell, paint);
                }
            }

            using var frame = Stroke(Ink, 1);
            for (var r = 0; r < rows; r++)
            {
                var y = top + (r * cell) + (cell / 2f);
                canvas.DrawLine(left - 4, y, left, y, frame);
                Text(canvas, Number(rowAxis.Values[r]), left - 7, y + 4, SKTextAlign.Right);
            }

            for (var c = 0; c < columns; c++)
            {
                var x = left + (c * cell) + (cell / 2f);
                canvas.DrawLine(x, top - 4, x, top, frame);
                Text(canvas, Number(columnAxis.Values[c]), x, top - 7, SKTextAlign.Center);
            }

            Text(canvas, AxisName(columnAxis) + " →", left, top - 21, SKTextAlign.Left);
            canvas.Save();
            canvas.RotateDegrees(-90, 14, top + (rows * cell / 2f));
            Text(canvas, AxisName(rowAxis) + " →", 14, top + (rows * cell / 2f), SKTextAlign.Center);
            canvas.Restore();

            // The colour bar: the response scale, high at the top.
            var barLeft = left + (columns * cell) + 16;
            for (var y = 0; y < rows * cell; y++)
            {
                paint.Color = Colormap(1 - (y / (double)((rows * cell) - 1)));
                canvas.DrawRect(barLeft, top + y, 12, 1, paint);
            }

            canvas.DrawRect(barLeft, top, 12, rows * cell, frame);
            Text(canvas, Number(max), barLeft + 16, top + 9, SKTextAlign.Left);
            Text(canvas, Number(min), barLeft + 16, top + (rows * cell), SKTextAlign.Left);
            Text(canvas, "response", barLeft, top - 7, SKTextAlign.Left);

            var best = Peak(curve);
            var (peakRow, peakColumn) = (best / columns, best % columns);
            using var ring = Stroke(SKColors.White, 2);
            canvas.DrawRect(left + (peakColumn * cell) + 1, top + (peakRow * cell) + 1, cell - 2, cell - 2, ring);
            canvas.DrawRect(left + (peakColumn * cell), top + (peakRow * cell), cell, cell, frame);
            Text(canvas, $"peak {Number(curve.Responses[best])} at", 8, height - 24, SKTextAlign.Left);
            Text(canvas, $"{rowAxis.Name} {Value(rowAxis, rowAxis.Values[peakRow])}, {columnAxis.Name} {Value(columnAxis, columnAxis.Values[peakColumn])}", 8, height - 8, SKTextAlign.Left);
        });
    }

    public static byte[] Radial(TuningCurve curve)
    {
        const int width = 340, height = 380;
        const float cx = width / 2f, cy = TitleBand + 160, radius = 112;
        return Draw(width, height, curve, canvas =>
        {
            var axis = curve.Axes[0];
            var (min, max) = Range(curve.Responses);
            float Radius(double v) => radius * (float)(0.05 + (0.95 * (v - min) / (max - min)));
            SKPoint At(double degrees, float r) => new(cx + (r * (float)Math.Cos(degrees * Math.PI / 180)), cy - (r * (float)Math.Sin(degrees * Math.PI / 180)));

            // Axes: rings at the half and full response scale, spokes every 45° with their angle.
            using var guide = Stroke(Guide, 1);
            canvas.DrawCircle(cx, cy, radius, guide);
            canvas.DrawCircle(cx, cy, radius / 2, guide);
            for (var degrees = 0; degrees < 360; degrees += 45)
            {
                canvas.DrawLine(At(degrees, 0), At(degrees, radius + 4), guide);
                var label = At(degrees, radius + 16);
                Text(canvas, $"{degrees}{axis.Unit}", label.X, label.Y + 4, SKTextAlign.Center);
            }

            var ringHalf = min + ((0.5 - 0.05) / 0.95 * (max - min));
            foreach (var (r, value) in new[] { (radius / 2, ringHalf), (radius, max) })
            {
                var at = At(22.5, r);
                Text(canvas, Number(value), at.X + 3, at.Y - 2, SKTextAlign.Left, 10);
            }

            // Orientations span 180°: the plot mirrors them so a line detector shows as a symmetric lobe.
            var mirrored = axis.Name == "orientation" && axis.Values[^1] < 180;
            using var fill = new SKPaint { Color = Accent.WithAlpha(150), Style = SKPaintStyle.Fill, IsAntialias = true };
            var angles = mirrored ? axis.Values.Concat(axis.Values.Select(v => v + 180)).ToArray() : axis.Values;
            var values = mirrored ? curve.Responses.Concat(curve.Responses).ToArray() : curve.Responses;
            var outline = new System.Text.StringBuilder();
            for (var i = 0; i < angles.Length; i++)
            {
                var point = At(angles[i], Radius(values[i]));
                outline.Append(CultureInfo.InvariantCulture, $"{(i == 0 ? 'M' : 'L')}{point.X:F2} {point.Y:F2} ");
            }

            using var path = SKPath.ParseSvgPathData(outline.Append('Z').ToString());
            canvas.DrawPath(path, fill);

            var best = Peak(curve);
            MarkPeak(canvas, At(axis.Values[best], Radius(curve.Responses[best])));
            Text(canvas, $"{AxisName(axis)} around the circle, response outward", cx, height - 26, SKTextAlign.Center);
            Text(canvas, $"peak {Number(curve.Responses[best])} at {axis.Name} {Value(axis, axis.Values[best])}", cx, height - 8, SKTextAlign.Center);
        });
    }

    private static int Peak(TuningCurve curve) => Array.IndexOf(curve.Responses, curve.Responses.Max());

    private static void MarkPeak(SKCanvas canvas, SKPoint at)
    {
        using var dot = new SKPaint { Color = Ink, Style = SKPaintStyle.Fill, IsAntialias = true };
        using var halo = Stroke(SKColors.White, 1.5f);
        canvas.DrawCircle(at, 4.5f, dot);
        canvas.DrawCircle(at, 4.5f, halo);
    }

    private static (double Min, double Max) Range(IReadOnlyCollection<double> values)
    {
        var (min, max) = (values.Min(), values.Max());
        return max > min ? (min, max) : (min - 1, max + 1);
    }

    /// <summary>Round tick values (steps of 1, 2 or 5 × 10ⁿ), about five of them inside [min, max].</summary>
    public static IEnumerable<double> Ticks(double min, double max)
    {
        var rough = (max - min) / 5;
        var power = Math.Pow(10, Math.Floor(Math.Log10(rough)));
        var step = (rough / power) switch { < 1.5 => 1, < 3 => 2, < 7 => 5, _ => 10 } * power;
        for (var tick = Math.Ceiling(min / step) * step; tick <= max + (step * 1e-9); tick += step)
        {
            yield return Math.Abs(tick) < step * 1e-9 ? 0 : tick;
        }
    }

    private static string Number(double value) => value.ToString("G3", CultureInfo.InvariantCulture);

    private static string AxisName(StimulusAxis axis) => $"{axis.Name} ({axis.Unit})";

    /// <summary>A value with its unit: degrees stick to the number, other units follow a space.</summary>
    private static string Value(StimulusAxis axis, double value) => axis.Unit == "°" ? $"{Number(value)}°" : $"{Number(value)} {axis.Unit}";

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

    private static SKPaint Stroke(SKColor color, float width) => new() { Color = color, Style = SKPaintStyle.Stroke, StrokeWidth = width, IsAntialias = true };

    private static void Text(SKCanvas canvas, string text, float x, float y, SKTextAlign align, float size = 11)
    {
        using var font = new SKFont(PlotFont.Typeface, size);
        using var paint = new SKPaint { Color = Ink, IsAntialias = true };
        canvas.DrawText(text, x, y, align, font, paint);
    }

    /// <summary>A white plot with the title (layer, unit, family) in its top band.</summary>
    private static byte[] Draw(int width, int height, TuningCurve curve, Action<SKCanvas> draw)
    {
        using var bitmap = new SKBitmap(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(SKColors.White);
            using var font = new SKFont(PlotFont.Typeface, 13) { Embolden = true };
            using var paint = new SKPaint { Color = Ink, IsAntialias = true };
            canvas.DrawText($"{curve.Layer} · unit {curve.Unit} · {curve.Family}", 8, 17, SKTextAlign.Left, font, paint);
            draw(canvas);
        }

        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }
}
