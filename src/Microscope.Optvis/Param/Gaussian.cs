namespace Microscope.Optvis.Param;

/// <summary>Normal samples from an explicit seeded source (Box–Muller), so initial images are reproducible.</summary>
internal static class Gaussian
{
    /// <summary>Fills equal slices of <paramref name="values"/>, slice n from <paramref name="perSlice"/>[n].</summary>
    public static void Fill(Span<float> values, double sd, IReadOnlyList<Random> perSlice)
    {
        var length = values.Length / perSlice.Count;
        for (var n = 0; n < perSlice.Count; n++)
        {
            Fill(values.Slice(n * length, length), sd, perSlice[n]);
        }
    }

    public static void Fill(Span<float> values, double sd, Random random)
    {
        for (var i = 0; i < values.Length; i++)
        {
            var u1 = 1.0 - random.NextDouble();
            var u2 = random.NextDouble();
            values[i] = (float)(sd * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
        }
    }
}
