namespace Microscope.Optvis.Optimizers;

/// <summary>
/// Adam (Kingma and Ba), as Lucid uses it: learning rate 0.05, β₁ 0.9, β₂ 0.999, ε 1e-8. It climbs:
/// <see cref="Step"/> moves the parameters up the gradient, since we maximize objectives.
/// </summary>
public sealed class Adam(int size, double learningRate = 0.05, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8)
{
    private readonly double[] m = new double[size];
    private readonly double[] v = new double[size];
    private int t;

    public void Step(Span<float> parameters, ReadOnlySpan<float> gradient)
    {
        t++;
        var correction1 = 1 - Math.Pow(beta1, t);
        var correction2 = 1 - Math.Pow(beta2, t);
        for (var i = 0; i < parameters.Length; i++)
        {
            double g = gradient[i];
            m[i] = (beta1 * m[i]) + ((1 - beta1) * g);
            v[i] = (beta2 * v[i]) + ((1 - beta2) * g * g);
            var mHat = m[i] / correction1;
            var vHat = v[i] / correction2;
            parameters[i] += (float)(learningRate * mHat / (Math.Sqrt(vHat) + epsilon));
        }
    }
}
