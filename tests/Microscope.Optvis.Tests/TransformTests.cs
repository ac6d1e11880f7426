using Microscope.Optvis.Transforms;

namespace Microscope.Optvis.Tests;

/// <summary>
/// Every transform's backward is the exact adjoint of its forward: ⟨T x, g⟩ = ⟨x, Tᵀ g⟩ for random
/// x and g (the dot-product test). A wrong weight, offset or index breaks the equality.
/// </summary>
public sealed class TransformTests
{
    public static TheoryData<string> Names => ["pad", "jitter", "scale-down", "scale-up", "rotate", "resize", "standard"];

    private static IReadOnlyList<ITransformStep> Steps(string name, Random random, int h, int w) => name switch
    {
        "pad" => [new Pad(3).Sample(random, h, w)],
        "jitter" => [new Jitter(4).Sample(random, h, w)],
        "scale-down" => [new RandomScale([0.9]).Sample(random, h, w)],
        "scale-up" => [new RandomScale([1.1]).Sample(random, h, w)],
        "rotate" => [new RandomRotate([7.0]).Sample(random, h, w)],
        "resize" => [Bilinear.Resize(h, w, 23, 31)],
        _ => TransformPipeline.Standard.Sample(random, h, w),
    };

    [Theory]
    [MemberData(nameof(Names))]
    public void Backward_is_the_adjoint_of_forward(string name)
    {
        var random = new Random(4);
        const int h = 20, w = 26;
        var steps = Steps(name, random, h, w);
        var x = Random(random, 3 * h * w);

        // Pad adds a constant: the adjoint belongs to the linear part, T(x) − T(0).
        var y = Apply(steps, x);
        var offset = Apply(steps, new float[x.Length]);
        for (var i = 0; i < y.Length; i++)
        {
            y[i] -= offset[i];
        }

        var g = Random(random, y.Length);
        var back = g;
        for (var i = steps.Count - 1; i >= 0; i--)
        {
            var previous = new float[3 * steps[i].InputHeight * steps[i].InputWidth];
            steps[i].Backward(back, previous);
            back = previous;
        }

        var lhs = Dot(y, g);
        var rhs = Dot(x, back);
        Assert.True(Math.Abs(lhs - rhs) <= 1e-4 * Math.Max(1, Math.Abs(lhs)), $"⟨Tx, g⟩ = {lhs}, ⟨x, Tᵀg⟩ = {rhs}");
    }

    [Fact]
    public void Standard_transforms_are_lucids()
    {
        var t = TransformPipeline.Standard.Transforms;
        Assert.Equal(new Pad(12), t[0]);
        Assert.Equal(new Jitter(8), t[1]);
        Assert.Equal([0.9, 0.92, 0.94, 0.96, 0.98, 1.0, 1.02, 1.04, 1.06, 1.08, 1.1], ((RandomScale)t[2]).Scales.Select(s => Math.Round(s, 6)));
        var angles = ((RandomRotate)t[3]).Degrees;
        Assert.Equal(-10, angles.Min());
        Assert.Equal(10, angles.Max());
        Assert.Equal(6, angles.Count(a => a == 0));
        Assert.Equal(new Jitter(4), t[4]);
    }

    [Fact]
    public void The_same_seed_draws_the_same_transforms()
    {
        var a = TransformPipeline.Standard.Sample(new Random(9), 128, 128);
        var b = TransformPipeline.Standard.Sample(new Random(9), 128, 128);
        Assert.Equal(a.Select(s => (s.OutputHeight, s.OutputWidth)), b.Select(s => (s.OutputHeight, s.OutputWidth)));
    }

    [Fact]
    public void Pad_fills_grey_and_jitter_crops()
    {
        var image = Enumerable.Repeat(1f, 3 * 4 * 4).ToArray();
        var padded = new float[3 * 6 * 6];
        new Pad(1).Sample(new Random(1), 4, 4).Forward(image, padded);
        Assert.Equal(0.5f, padded[0]);
        Assert.Equal(1f, padded[7]);
        var jitter = new Jitter(2).Sample(new Random(1), 6, 6);
        Assert.Equal((4, 4), (jitter.OutputHeight, jitter.OutputWidth));
    }

    private static float[] Apply(IReadOnlyList<ITransformStep> steps, float[] x)
    {
        var y = x;
        foreach (var step in steps)
        {
            var output = new float[3 * step.OutputHeight * step.OutputWidth];
            step.Forward(y, output);
            y = output;
        }

        return y;
    }

    private static float[] Random(Random random, int n) => [.. Enumerable.Range(0, n).Select(_ => (float)((random.NextDouble() * 2) - 1))];

    private static double Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        var sum = 0.0;
        for (var i = 0; i < a.Length; i++)
        {
            sum += (double)a[i] * b[i];
        }

        return sum;
    }
}
