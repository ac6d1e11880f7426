using Microscope.Optvis.Optimizers;
using Microscope.Optvis.Param;

namespace Microscope.Optvis.Tests;

public sealed class ParameterizationTests
{
    public static TheoryData<string, int, int> Cases => new()
    {
        { "fourier", 16, 16 },
        { "fourier", 7, 9 },
        { "fourier", 12, 10 },
        { "pixels", 8, 8 },
        { "pixels-rgb", 8, 8 },
    };

    private static IImageParameterization Make(string kind, int h, int w, Random random) => kind switch
    {
        "fourier" => new FourierImage(2, h, w, random, initialSd: 0.5),
        "pixels" => new PixelImage(2, h, w, random, initialSd: 0.5),
        _ => new PixelImage(2, h, w, random, initialSd: 0.5, decorrelate: false),
    };

    /// <summary>Backward matches central finite differences of Σ g·image along random parameter directions.</summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void Backward_matches_finite_differences(string kind, int h, int w)
    {
        var random = new Random(3);
        var p = Make(kind, h, w, random);
        var size = p.Batch * 3 * h * w;
        var g = Enumerable.Range(0, size).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray();
        var image = new float[size];
        p.Image(image);
        var gradient = new float[p.Parameters.Length];
        p.Backward(g, gradient);
        Assert.Contains(gradient, v => v != 0);

        for (var d = 0; d < 3; d++)
        {
            var direction = Enumerable.Range(0, p.Parameters.Length).Select(_ => random.Next(2) == 0 ? -1f : 1f).ToArray();
            var analytic = direction.Zip(gradient, (a, b) => (double)a * b).Sum();
            var original = p.Parameters.ToArray();
            const float eps = 1e-2f;
            double F(float sign)
            {
                for (var i = 0; i < original.Length; i++)
                {
                    p.Parameters[i] = original[i] + (sign * eps * direction[i]);
                }

                p.Image(image);
                return image.Zip(g, (a, b) => (double)a * b).Sum();
            }

            var numeric = (F(1) - F(-1)) / (2 * eps);
            original.CopyTo(p.Parameters, 0);
            Assert.True(Math.Abs(analytic - numeric) <= 2e-3 * Math.Max(Math.Abs(analytic), 1), $"{kind} {h}×{w}: analytic {analytic}, numeric {numeric}");
        }
    }

    [Fact]
    public void Images_are_valid_rgb_and_start_near_grey()
    {
        var p = new FourierImage(1, 32, 32, new Random(1));
        var image = new float[3 * 32 * 32];
        p.Image(image);
        Assert.All(image, v => Assert.InRange(v, 0.4f, 0.6f));
    }

    [Fact]
    public void The_same_seed_gives_the_same_image()
    {
        var a = new float[3 * 16 * 16];
        var b = new float[3 * 16 * 16];
        new FourierImage(1, 16, 16, new Random(5)).Image(a);
        new FourierImage(1, 16, 16, new Random(5)).Image(b);
        Assert.Equal(a, b);
    }

    [Fact]
    public void Adam_climbs()
    {
        // Maximize −(x − 3)²: the gradient is −2(x − 3).
        var x = new float[] { 0 };
        var adam = new Adam(1, learningRate: 0.1);
        for (var i = 0; i < 500; i++)
        {
            adam.Step(x, [-2 * (x[0] - 3)]);
        }

        Assert.Equal(3, x[0], 1);
    }
}
