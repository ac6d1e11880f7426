using Microscope.Inference;
using Microscope.Lenses.DatasetExamples;
using Microscope.Onnx;
using Microsoft.ML.OnnxRuntime;
using SkiaSharp;

namespace Microscope.Lenses.Tuning;

/// <summary>A unit's responses to a stimulus family, one per point of its axes (row-major, last axis fastest).</summary>
public sealed record TuningCurve(string Layer, int Unit, string Family, IReadOnlyList<StimulusAxis> Axes, double[] Responses, int X, int Y, int WindowLeft, int WindowTop, int WindowSide)
{
    public (double Value, double[] Point) Peak(IReadOnlyList<double[]> points)
    {
        var best = Array.IndexOf(Responses, Responses.Max());
        return (Responses[best], points[best]);
    }
}

/// <summary>
/// Synthetic tuning curves (forward only): each stimulus of a family is drawn inside the receptive
/// field of the layer's centre position, and a unit's response is its activation at that position.
/// All units of the layer are measured in the same forward passes.
/// </summary>
public static class TuningCurves
{
    public static IReadOnlyList<TuningCurve> Measure(VisionGraph vision, Layer layer, IReadOnlyList<int> units, StimulusFamily family, int size, SessionFactory sessions, int batch = 32, IProgress<(int Done, int Total)>? progress = null)
    {
        foreach (var unit in units)
        {
            Ids.ParseUnit(unit.ToString(System.Globalization.CultureInfo.InvariantCulture), layer.Id, layer.Units);
        }

        var truncated = vision.Graph.Truncate(layer.Tensor);
        var shape = ShapeProbes.Measure(truncated, [layer.Tensor], 1, size, size)[layer.Tensor];
        var (x, y) = shape.Length == 4 ? ((int)shape[3] / 2, (int)shape[2] / 2) : (0, 0);
        var (left, top, side) = shape.Length == 4 ? ReceptiveField.Of(vision.Graph, layer.Tensor, size).Window(x, y, size) : (0, 0, size);
        var window = new SKRect(left, top, left + side, top + side);

        var points = family.Points();
        var responses = units.Select(_ => new double[points.Count]).ToArray();
        using var session = sessions.Create(OnnxModelFile.ToBytes(truncated), "tuning curves");
        var done = 0;
        foreach (var chunk in points.Select((p, i) => (p, i)).Chunk(Math.Max(1, batch)))
        {
            var pixels = chunk.SelectMany(c => family.Render(size, window, c.p)).ToArray();
            using var input = OrtValue.CreateTensorValueFromMemory(pixels, [chunk.Length, 3, size, size]);
            using var options = new RunOptions();
            using var results = session.Session.Run(options, [VisionGraph.ImageInput], [input], [layer.Tensor]);
            var values = results[0].GetTensorDataAsSpan<float>();
            var plane = shape.Length == 4 ? (int)(shape[2] * shape[3]) : 1;
            var width = shape.Length == 4 ? (int)shape[3] : 1;
            for (var n = 0; n < chunk.Length; n++)
            {
                for (var u = 0; u < units.Count; u++)
                {
                    responses[u][chunk[n].i] = values[(((n * layer.Units) + units[u]) * plane) + (y * width) + x];
                }
            }

            done += chunk.Length;
            progress?.Report((done, points.Count));
        }

        return [.. units.Select((unit, u) => new TuningCurve(layer.Id, unit, family.Name, family.Axes, responses[u], x, y, left, top, side))];
    }
}
