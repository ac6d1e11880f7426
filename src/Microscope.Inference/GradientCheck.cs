using Microscope.Onnx.Gradients;

namespace Microscope.Inference;

/// <summary>One directional comparison of the built gradient with central finite differences.</summary>
public sealed record DirectionCheck(double Analytic, double Numeric, double RelativeError, double Epsilon);

/// <summary>The outcome of a gradient check.</summary>
public sealed record GradientCheckResult(IReadOnlyList<DirectionCheck> Directions, double Objective)
{
    public double MaxRelativeError => Directions.Max(d => d.RelativeError);

    /// <summary>True when the gradient was zero along every direction: nothing was really checked.</summary>
    public bool Vacuous => Directions.All(d => d.Analytic == 0 && d.Numeric == 0);
}

/// <summary>
/// Compares d(Σ objective)/d(image) from a built graph with central finite differences along random
/// directions: (f(x + εv) − f(x − εv)) / 2ε against ⟨∇f, v⟩. Seeded, so a check is repeatable.
/// Piecewise-linear models (ReLU, max pooling) have kinks: a step that crosses one adds error
/// proportional to ε, so ε is kept small, and float32 round-off sets how small.
/// </summary>
public static class GradientCheck
{
    /// <summary>
    /// Steps tried for each direction: a larger step suffers from kinks, a smaller one from float32
    /// round-off. The kinks a step crosses grow with the image: more pixels move and each channel has
    /// more activations near zero. At 128 px, ResNet-18's layer3.1.relu still errs by 1.7e-2 at 1e-5
    /// (the finite difference falls short of the gradient by the same 1.6 % in every direction: kinks,
    /// not noise) and by 1e-4 to 6e-4 at 1e-6, where round-off is still small; hence 1e-6 as well.
    /// </summary>
    public static readonly double[] DefaultSteps = [1e-3, 1e-4, 1e-5, 1e-6];

    /// <param name="steps">
    /// Finite-difference steps to try (per pixel, images in [0, 1]). Each direction keeps the step whose
    /// estimate agrees best: kinks make large steps wrong and round-off small ones, so the best of a few
    /// is the best available estimate of the true directional derivative.
    /// </param>
    public static GradientCheckResult Run(
        GradientSession session, double[] image, int batch, int height, int width, ObjectiveParameters parameters,
        int directions = 4, IReadOnlyList<double>? steps = null, int seed = 1)
    {
        steps ??= DefaultSteps;
        var random = new Random(seed);
        var at = session.Run(image, batch, height, width, parameters);
        var checks = new List<DirectionCheck>();
        for (var d = 0; d < directions; d++)
        {
            // Gradient-aligned random subsets: v = sign(∇f) on a random half of the pixels, 0 elsewhere.
            // ⟨∇f, v⟩ = Σ|∂f/∂xᵢ| over the subset is then large, so the relative error measures the
            // gradient rather than round-off (plain random directions nearly cancel on an averaged
            // objective), and any wrong sign or magnitude of a component lowers the finite difference.
            var v = new double[image.Length];
            for (var i = 0; i < v.Length; i++)
            {
                v[i] = random.Next(2) == 0 ? 0 : Math.Sign(at.Gradient[i]);
            }

            var analytic = 0.0;
            for (var i = 0; i < v.Length; i++)
            {
                analytic += at.Gradient[i] * v[i];
            }

            DirectionCheck? best = null;
            foreach (var epsilon in steps)
            {
                var plus = session.Run(Step(image, v, epsilon), batch, height, width, parameters).Objective.Sum();
                var minus = session.Run(Step(image, v, -epsilon), batch, height, width, parameters).Objective.Sum();
                var numeric = (plus - minus) / (2 * epsilon);
                var scale = Math.Max(Math.Max(Math.Abs(analytic), Math.Abs(numeric)), 1e-12);
                var check = new DirectionCheck(analytic, numeric, Math.Abs(analytic - numeric) / scale, epsilon);
                if (best is null || check.RelativeError < best.RelativeError)
                {
                    best = check;
                }
            }

            checks.Add(best!);
        }

        return new GradientCheckResult(checks, at.Objective.Sum());
    }

    private static double[] Step(double[] image, double[] direction, double epsilon)
    {
        var result = new double[image.Length];
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = image[i] + (epsilon * direction[i]);
        }

        return result;
    }
}
