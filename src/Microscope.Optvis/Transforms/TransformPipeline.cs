namespace Microscope.Optvis.Transforms;

/// <summary>Transforms applied in order; one draw per optimization step, the same draw for every image of the batch.</summary>
public sealed class TransformPipeline(IReadOnlyList<ITransform> transforms)
{
    public IReadOnlyList<ITransform> Transforms { get; } = transforms;

    /// <summary>
    /// Lucid's <c>standard_transforms</c>: pad 12, jitter 8, scale by 0.90 to 1.10 in steps of 0.02,
    /// rotate by −10 to 10 degrees (0 five times more often: Lucid's list has five extra zeros),
    /// jitter 4.
    /// </summary>
    public static TransformPipeline Standard { get; } = new(
    [
        new Pad(12),
        new Jitter(8),
        new RandomScale([.. Enumerable.Range(0, 11).Select(i => 1 + ((i - 5) / 50.0))]),
        new RandomRotate([.. Enumerable.Range(-10, 21).Select(d => (double)d), 0, 0, 0, 0, 0]),
        new Jitter(4),
    ]);

    public static TransformPipeline None { get; } = new([]);

    public IReadOnlyList<ITransformStep> Sample(Random random, int height, int width)
    {
        var steps = new List<ITransformStep>(Transforms.Count);
        foreach (var transform in Transforms)
        {
            var step = transform.Sample(random, height, width);
            steps.Add(step);
            (height, width) = (step.OutputHeight, step.OutputWidth);
        }

        return steps;
    }
}
