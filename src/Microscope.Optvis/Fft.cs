using System.Numerics;

namespace Microscope.Optvis;

/// <summary>
/// Discrete Fourier transforms of one row: radix-2 for power-of-two lengths, a direct sum otherwise
/// (renders are 128 px by default; other sizes are allowed, only slower). Unnormalized in both
/// directions: forward uses e^(−2πi·k·n/N), inverse e^(+2πi·k·n/N).
/// </summary>
internal static class Fft
{
    public static void Transform(Span<Complex> data, bool inverse)
    {
        var n = data.Length;
        if (n <= 1)
        {
            return;
        }

        if ((n & (n - 1)) == 0)
        {
            Radix2(data, inverse);
        }
        else
        {
            Direct(data, inverse);
        }
    }

    private static void Radix2(Span<Complex> data, bool inverse)
    {
        var n = data.Length;
        for (int i = 1, j = 0; i < n; i++)
        {
            var bit = n >> 1;
            for (; (j & bit) != 0; bit >>= 1)
            {
                j ^= bit;
            }

            j ^= bit;
            if (i < j)
            {
                (data[i], data[j]) = (data[j], data[i]);
            }
        }

        for (var length = 2; length <= n; length <<= 1)
        {
            var angle = 2 * Math.PI / length * (inverse ? 1 : -1);
            var step = new Complex(Math.Cos(angle), Math.Sin(angle));
            for (var start = 0; start < n; start += length)
            {
                var w = Complex.One;
                for (var k = 0; k < length / 2; k++)
                {
                    var u = data[start + k];
                    var v = data[start + k + (length / 2)] * w;
                    data[start + k] = u + v;
                    data[start + k + (length / 2)] = u - v;
                    w *= step;
                }
            }
        }
    }

    private static void Direct(Span<Complex> data, bool inverse)
    {
        var n = data.Length;
        var result = new Complex[n];
        var sign = inverse ? 1 : -1;
        for (var k = 0; k < n; k++)
        {
            var sum = Complex.Zero;
            for (var t = 0; t < n; t++)
            {
                var angle = sign * 2 * Math.PI * ((long)k * t % n) / n;
                sum += data[t] * new Complex(Math.Cos(angle), Math.Sin(angle));
            }

            result[k] = sum;
        }

        result.CopyTo(data);
    }
}
