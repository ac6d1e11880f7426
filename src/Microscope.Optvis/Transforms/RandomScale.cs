namespace Microscope.Optvis.Transforms;

/// <summary>Resizes by a factor drawn from <paramref name="Scales"/> (bilinear, half-pixel centres); the output size is ⌊s·H⌋ × ⌊s·W⌋.</summary>
public sealed record RandomScale(IReadOnlyList<double> Scales) : ITransform
{
    public ITransformStep Sample(Random random, int height, int width)
    {
        var s = Scales[random.Next(Scales.Count)];
        return Bilinear.Resize(height, width, Math.Max(1, (int)Math.Floor(s * height)), Math.Max(1, (int)Math.Floor(s * width)));
    }
}
