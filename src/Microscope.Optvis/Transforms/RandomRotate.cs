namespace Microscope.Optvis.Transforms;

/// <summary>Rotates about the centre by an angle in degrees drawn from <paramref name="Degrees"/> (bilinear; corners that come from outside read 0).</summary>
public sealed record RandomRotate(IReadOnlyList<double> Degrees) : ITransform
{
    public ITransformStep Sample(Random random, int height, int width)
    {
        var angle = Degrees[random.Next(Degrees.Count)] * Math.PI / 180;
        var (cos, sin) = (Math.Cos(angle), Math.Sin(angle));
        var (cx, cy) = (width / 2.0, height / 2.0);
        return new Bilinear(height, width, height, width, (x, y) =>
        {
            // Output pixel → input pixel: rotate back by the angle about the centre.
            var (dx, dy) = (x - cx, y - cy);
            return (cx + (cos * dx) + (sin * dy), cy - (sin * dx) + (cos * dy));
        });
    }
}
