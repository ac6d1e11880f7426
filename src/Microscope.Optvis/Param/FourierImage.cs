using System.Numerics;

namespace Microscope.Optvis.Param;

/// <summary>
/// Lucid's <c>fft_image</c>: each channel is the inverse real 2-D Fourier transform of a spectrum
/// whose frequency f is scaled by 1/max(f, 1/max(H, W))^decay · √(H·W). The 1/f scaling makes every
/// frequency equally easy to change, so the optimizer is not drawn to high-frequency patterns (natural
/// images have a 1/f spectrum). The image is then divided by 4 (Lucid's constant, which keeps the
/// initial values in the sigmoid's linear range), decorrelated in colour and squashed to [0, 1].
/// Parameters: N × 3 × H × (W/2 + 1 or + 2) complex values, real and imaginary interleaved.
/// </summary>
public sealed class FourierImage : IImageParameterization
{
    private readonly int frequencies;
    private readonly int fullWidth;
    private readonly float[] scale;
    private readonly float[] rgb;
    private readonly bool decorrelate;

    public FourierImage(int batch, int height, int width, Random random, double decayPower = 1, double initialSd = 0.01, bool decorrelate = true)
        : this(height, width, [.. Enumerable.Repeat(random, batch)], decayPower, initialSd, decorrelate)
    {
    }

    /// <param name="perImage">One random source per image of the batch: image n's initial spectrum is drawn from source n alone.</param>
    public FourierImage(int height, int width, IReadOnlyList<Random> perImage, double decayPower = 1, double initialSd = 0.01, bool decorrelate = true)
    {
        var batch = perImage.Count;
        (Batch, Height, Width, this.decorrelate) = (batch, height, width, decorrelate);

        // For an odd width one more frequency is kept, and one pixel cut off after the transform.
        frequencies = width % 2 == 1 ? (width / 2) + 2 : (width / 2) + 1;
        fullWidth = 2 * (frequencies - 1);
        scale = new float[height * frequencies];
        var floor = 1.0 / Math.Max(width, height);
        for (var y = 0; y < height; y++)
        {
            var fy = FftFrequency(y, height);
            for (var x = 0; x < frequencies; x++)
            {
                var fx = FftFrequency(x, width);
                var f = Math.Sqrt((fx * fx) + (fy * fy));
                scale[(y * frequencies) + x] = (float)(Math.Sqrt((double)width * height) / Math.Pow(Math.Max(f, floor), decayPower));
            }
        }

        Parameters = new float[batch * 3 * height * frequencies * 2];
        Gaussian.Fill(Parameters, initialSd, perImage);
        rgb = new float[batch * 3 * height * width];
    }

    public int Batch { get; }

    public int Height { get; }

    public int Width { get; }

    public float[] Parameters { get; }

    /// <summary>Frequencies kept along x (W/2 + 1, or + 2 for an odd width).</summary>
    public int Frequencies => frequencies;

    /// <summary>The scale of each frequency (H × <see cref="Frequencies"/>): 1/f^decay · √(H·W).</summary>
    public ReadOnlySpan<float> Scale => scale;

    public bool Decorrelated => decorrelate;

    public void Image(Span<float> images)
    {
        var pixels = Height * Width;
        var raw = new float[3 * pixels];
        var columns = new Complex[Height];
        var row = new Complex[fullWidth];
        var spectrum = new Complex[Height * frequencies];
        for (var n = 0; n < Batch; n++)
        {
            for (var c = 0; c < 3; c++)
            {
                var offset = ((n * 3) + c) * Height * frequencies * 2;
                for (var i = 0; i < spectrum.Length; i++)
                {
                    spectrum[i] = new Complex(Parameters[offset + (2 * i)] * scale[i], Parameters[offset + (2 * i) + 1] * scale[i]);
                }

                // Inverse transform along y, one frequency column at a time.
                for (var x = 0; x < frequencies; x++)
                {
                    for (var y = 0; y < Height; y++)
                    {
                        columns[y] = spectrum[(y * frequencies) + x];
                    }

                    Fft.Transform(columns, inverse: true);
                    for (var y = 0; y < Height; y++)
                    {
                        spectrum[(y * frequencies) + x] = columns[y];
                    }
                }

                // Inverse real transform along x: extend each row Hermitian-symmetrically.
                var norm = 1f / (4f * Height * fullWidth);
                for (var y = 0; y < Height; y++)
                {
                    for (var k = 0; k < frequencies; k++)
                    {
                        var value = spectrum[(y * frequencies) + k];
                        row[k] = k == 0 || k == frequencies - 1 ? new Complex(value.Real, 0) : value;
                        if (k > 0 && k < frequencies - 1)
                        {
                            row[fullWidth - k] = Complex.Conjugate(value);
                        }
                    }

                    Fft.Transform(row, inverse: true);
                    for (var x = 0; x < Width; x++)
                    {
                        raw[(c * pixels) + (y * Width) + x] = (float)row[x].Real * norm;
                    }
                }
            }

            ColorSpace.ToRgb(raw, rgb.AsSpan(n * 3 * pixels, 3 * pixels), pixels, decorrelate);
        }

        rgb.CopyTo(images);
    }

    public void Backward(ReadOnlySpan<float> imageGradient, Span<float> parameterGradient)
    {
        var pixels = Height * Width;
        var rawGradient = new float[3 * pixels];
        var row = new Complex[fullWidth];
        var column = new Complex[Height];
        var gradient = new Complex[Height * frequencies];
        for (var n = 0; n < Batch; n++)
        {
            ColorSpace.Backward(rgb.AsSpan(n * 3 * pixels, 3 * pixels), imageGradient.Slice(n * 3 * pixels, 3 * pixels), rawGradient, pixels, decorrelate);
            for (var c = 0; c < 3; c++)
            {
                var norm = 1.0 / (4.0 * Height * fullWidth);

                // Adjoint of the row transform: a forward FFT of the (zero-extended) gradient row,
                // weighted 1 for the real-only DC and Nyquist terms and 2 for the others.
                for (var y = 0; y < Height; y++)
                {
                    for (var x = 0; x < fullWidth; x++)
                    {
                        row[x] = x < Width ? new Complex(rawGradient[(c * pixels) + (y * Width) + x] * norm, 0) : Complex.Zero;
                    }

                    Fft.Transform(row, inverse: false);
                    for (var k = 0; k < frequencies; k++)
                    {
                        var weight = k == 0 || k == frequencies - 1 ? 1.0 : 2.0;
                        var value = row[k] * weight;
                        gradient[(y * frequencies) + k] = k == 0 || k == frequencies - 1 ? new Complex(value.Real, 0) : value;
                    }
                }

                // Adjoint of the column transform: a forward FFT along y.
                for (var k = 0; k < frequencies; k++)
                {
                    for (var y = 0; y < Height; y++)
                    {
                        column[y] = gradient[(y * frequencies) + k];
                    }

                    Fft.Transform(column, inverse: false);
                    for (var y = 0; y < Height; y++)
                    {
                        var i = (y * frequencies) + k;
                        var offset = (((n * 3) + c) * Height * frequencies * 2) + (2 * i);
                        parameterGradient[offset] = (float)column[y].Real * scale[i];
                        parameterGradient[offset + 1] = (float)column[y].Imaginary * scale[i];
                    }
                }
            }
        }
    }

    /// <summary>numpy's fftfreq: k/n for k &lt; n/2 (rounded up), else (k − n)/n.</summary>
    private static double FftFrequency(int k, int n) => (k < (n + 1) / 2 ? k : k - n) / (double)n;
}
