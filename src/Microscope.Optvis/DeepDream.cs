using Microscope.Inference;
using Microscope.Onnx;
using Microscope.Onnx.Gradients;
using Microscope.Optvis.Transforms;

namespace Microscope.Optvis;

/// <summary>DeepDream's settings; the defaults give recognizable results on ResNet-18's middle layers.</summary>
public sealed record DreamOptions
{
    public int Octaves { get; init; } = 4;

    /// <summary>Each octave is this much larger than the one before.</summary>
    public double OctaveScale { get; init; } = 1.4;

    public int StepsPerOctave { get; init; } = 20;

    /// <summary>Step size in [0, 1] pixel units, applied to the gradient divided by its mean absolute value.</summary>
    public double StepSize { get; init; } = 0.01;

    /// <summary>Random circular shift per step (pixels), so the dream has no fixed grid.</summary>
    public int Jitter { get; init; } = 16;

    public int Seed { get; init; } = 1;
}

/// <summary>
/// DeepDream (Mordvintsev et al.): gradient ascent of a layer's mean squared activation on a seed
/// image, octave by octave from small to full size, carrying the detail each octave added up to the
/// next. Works in pixel space with normalized steps, as the original does.
/// </summary>
public static class DeepDream
{
    /// <param name="model">A gradient graph of the layer built with the L2 term (it takes any image size).</param>
    /// <param name="seed">The seed image, 3×size×size, RGB in [0, 1].</param>
    public static float[] Dream(GradientModel model, SessionFactory sessions, float[] seed, int size, DreamOptions options, IProgress<RenderProgress>? progress = null, CancellationToken cancellation = default)
    {
        if (!model.Request.Terms.HasFlag(ObjectiveTerms.L2))
        {
            throw new ArgumentException("DeepDream needs a gradient graph built with the L2 term.");
        }

        if (sessions.Settings.ResidentLoop)
        {
            return Resident.ResidentDream.Dream(model, sessions, seed, size, options, progress, cancellation);
        }

        using var session = sessions.Create(OnnxModelFile.ToBytes(model.Model), "deepdream graph");
        var random = new Random(options.Seed);
        var total = Octaves(size, options).Count * options.StepsPerOctave;
        var done = 0;
        return OverOctaves(seed, size, options, (start, octave) =>
        {
            var current = start;
            long[] shape = [1, 3, octave, octave];
            using var run = new BoundRun(session.Session, new Dictionary<string, long[]> { [VisionGraph.ImageInput] = shape, [ObjectiveNames.L2Weight] = [1] }, new Dictionary<string, long[]> { [ObjectiveNames.Objective] = [1], [ObjectiveNames.ImageGradient] = shape });
            run.Input(ObjectiveNames.L2Weight)[0] = 1;
            for (var step = 0; step < options.StepsPerOctave; step++)
            {
                cancellation.ThrowIfCancellationRequested();
                var (dx, dy) = DrawShift(random, options);
                Roll(current, run.Input(VisionGraph.ImageInput), octave, dx, dy);
                run.Run();
                var gradient = new float[current.Length];
                Roll(run.Output(ObjectiveNames.ImageGradient), gradient, octave, -dx, -dy);
                var mean = gradient.Average(MathF.Abs) + 1e-8f;
                for (var i = 0; i < current.Length; i++)
                {
                    current[i] = Math.Clamp(current[i] + ((float)options.StepSize * gradient[i] / mean), 0, 1);
                }

                progress?.Report(new RenderProgress(++done, total, run.Output(ObjectiveNames.Objective)[0]));
            }

            return current;
        });
    }

    /// <summary>The octaves' sizes, smallest first, the last <paramref name="size"/>.</summary>
    public static IReadOnlyList<int> Octaves(int size, DreamOptions options) =>
        [.. Enumerable.Range(0, options.Octaves).Select(i => Math.Max(16, (int)Math.Round(size / Math.Pow(options.OctaveScale, i)))).Reverse()];

    /// <summary>One step's random circular shift (dx, dy).</summary>
    public static (int Dx, int Dy) DrawShift(Random random, DreamOptions options) =>
        (random.Next(-options.Jitter, options.Jitter + 1), random.Next(-options.Jitter, options.Jitter + 1));

    /// <summary>
    /// The octave schedule: each octave starts from the seed at its size plus the detail the octaves
    /// before added (grown to this size), is climbed by <paramref name="climb"/> (start image, side →
    /// climbed image), and hands its detail on; the last octave's image is the dream.
    /// </summary>
    public static float[] OverOctaves(float[] seed, int size, DreamOptions options, Func<float[], int, float[]> climb)
    {
        float[]? detail = null;
        var detailSize = 0;
        var image = seed;
        foreach (var octave in Octaves(size, options))
        {
            var baseImage = Resize(seed, size, octave);
            var current = (float[])baseImage.Clone();
            if (detail is not null)
            {
                var grown = Resize(detail, detailSize, octave);
                for (var i = 0; i < current.Length; i++)
                {
                    current[i] = Math.Clamp(current[i] + grown[i], 0, 1);
                }
            }

            current = climb(current, octave);
            detail = new float[current.Length];
            for (var i = 0; i < current.Length; i++)
            {
                detail[i] = current[i] - baseImage[i];
            }

            detailSize = octave;
            image = current;
        }

        return image;
    }

    private static float[] Resize(float[] image, int from, int to)
    {
        if (from == to)
        {
            return (float[])image.Clone();
        }

        var result = new float[3 * to * to];
        Bilinear.Resize(from, from, to, to).Forward(image, result);
        return result;
    }

    /// <summary>Circular shift by (dx, dy).</summary>
    private static void Roll(ReadOnlySpan<float> source, Span<float> target, int size, int dx, int dy)
    {
        for (var c = 0; c < 3; c++)
        {
            for (var y = 0; y < size; y++)
            {
                var ty = (((y + dy) % size) + size) % size;
                for (var x = 0; x < size; x++)
                {
                    var tx = (((x + dx) % size) + size) % size;
                    target[(c * size * size) + (ty * size) + tx] = source[(c * size * size) + (y * size) + x];
                }
            }
        }
    }
}
