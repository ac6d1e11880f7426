using Microscope.Onnx;
using Microscope.Optvis.Param;

namespace Microscope.Optvis.Resident;

/// <summary>
/// The Fourier parameterization's inverse real 2-D DFT as matrix products, as <see cref="FourierImage"/>
/// computes it with FFTs: B = E·A along y (E = e^(+2πi·y·y'/H), symmetric), then
/// raw = Re(B)·Cc + Im(B)·Cs along x with Cc = w·cos, Cs = −w·sin (w = 1 for the DC and Nyquist
/// frequencies, whose imaginary parts are dropped, else 2) and the 1/(4·H·W') normalization folded in.
/// </summary>
internal sealed class FourierMatrices
{
    private readonly GraphEmitter g;
    private readonly string ecos;
    private readonly string esin;
    private readonly string ccos;
    private readonly string csin;
    private readonly string ccosT;
    private readonly string csinT;

    public FourierMatrices(int height, int width, int frequencies, GraphEmitter g)
    {
        this.g = g;
        var fullWidth = 2 * (frequencies - 1);
        var (cosY, sinY) = (new float[height * height], new float[height * height]);
        for (var y = 0; y < height; y++)
        {
            for (var k = 0; k < height; k++)
            {
                var angle = 2 * Math.PI * ((long)y * k % height) / height;
                (cosY[(y * height) + k], sinY[(y * height) + k]) = ((float)Math.Cos(angle), (float)Math.Sin(angle));
            }
        }

        var norm = 1.0 / (4.0 * height * fullWidth);
        var (cosX, sinX) = (new float[frequencies * width], new float[frequencies * width]);
        for (var k = 0; k < frequencies; k++)
        {
            var edge = k == 0 || k == frequencies - 1;
            var weight = (edge ? 1.0 : 2.0) * norm;
            for (var x = 0; x < width; x++)
            {
                var angle = 2 * Math.PI * ((long)k * x % fullWidth) / fullWidth;
                cosX[(k * width) + x] = (float)(weight * Math.Cos(angle));
                sinX[(k * width) + x] = edge ? 0f : (float)(-weight * Math.Sin(angle));
            }
        }

        ecos = g.Floats([height, height], cosY);
        esin = g.Floats([height, height], sinY);
        ccos = g.Floats([frequencies, width], cosX);
        csin = g.Floats([frequencies, width], sinX);
        ccosT = g.Floats([width, frequencies], Transpose(cosX, frequencies, width));
        csinT = g.Floats([width, frequencies], Transpose(sinX, frequencies, width));
    }

    /// <summary>raw (N×3×H×W) from the scaled spectrum's real and imaginary parts (N×3×H×F).</summary>
    public string Inverse(string re, string im)
    {
        var bRe = g.Node("Sub", [MatMul(ecos, re), MatMul(esin, im)]);
        var bIm = g.Node("Add", [MatMul(esin, re), MatMul(ecos, im)]);
        return g.Node("Add", [MatMul(bRe, ccos), MatMul(bIm, csin)]);
    }

    /// <summary>The adjoint: d(raw) → d(re), d(im) of the scaled spectrum.</summary>
    public (string Re, string Im) Adjoint(string dRaw)
    {
        var dbRe = MatMul(dRaw, ccosT);
        var dbIm = MatMul(dRaw, csinT);
        var dRe = g.Node("Add", [MatMul(ecos, dbRe), MatMul(esin, dbIm)]);
        var dIm = g.Node("Sub", [MatMul(ecos, dbIm), MatMul(esin, dbRe)]);
        return (dRe, dIm);
    }

    private string MatMul(string a, string b) => g.Node("MatMul", [a, b]);

    private static float[] Transpose(float[] values, int rows, int columns)
    {
        var result = new float[values.Length];
        for (var r = 0; r < rows; r++)
        {
            for (var c = 0; c < columns; c++)
            {
                result[(c * rows) + r] = values[(r * columns) + c];
            }
        }

        return result;
    }
}
