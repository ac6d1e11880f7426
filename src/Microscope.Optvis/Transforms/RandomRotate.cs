namespace Microscope.Optvis.Transforms;

/// <summary>Rotates about the centre by an angle in degrees drawn from <paramref name="Degrees"/> (bilinear; corners that come from outside read 0).</summary>
public sealed record RandomRotate(IReadOnlyList<double> Degrees) : ITransform
{
    public ITransformStep Sample(Random random, int height, int width)
    {
        var angle = Degrees[random.Next(Degrees.Count)] * Math.PI / 180;
        return new Bilinear(height, width, height, width, AffineStage.Rotate(height, width, angle));
    }
}
