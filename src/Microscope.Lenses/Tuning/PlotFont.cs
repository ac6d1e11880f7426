using SkiaSharp;

namespace Microscope.Lenses.Tuning;

/// <summary>
/// The typeface plots write their labels with. SkiaSharp's NoDependencies build has no font manager,
/// so <see cref="SKTypeface.Default"/> draws nothing: the font is loaded from a file instead, the
/// first of <c>MICROSCOPE_PLOT_FONT</c> and the places Debian/Ubuntu (<c>fonts-dejavu-core</c>, which
/// ./run.sh, ./test.sh and the render image install), Fedora and Alpine put DejaVu Sans. A plot is
/// deterministic for a given font file. Without one, plots are drawn without their text (axes,
/// ticks and peak marker stay), and <see cref="Source"/> says so.
/// </summary>
public static class PlotFont
{
    public const string EnvironmentVariable = "MICROSCOPE_PLOT_FONT";

    private static readonly string[] Candidates =
    [
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
        "/usr/share/fonts/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/TTF/DejaVuSans.ttf",
    ];

    private static readonly Lazy<(SKTypeface Typeface, string? Source)> Loaded = new(Load);

    /// <summary>The typeface labels use (an empty one when no font file was found).</summary>
    public static SKTypeface Typeface => Loaded.Value.Typeface;

    /// <summary>The font file in use, or null when plots have no text.</summary>
    public static string? Source => Loaded.Value.Source;

    private static (SKTypeface, string?) Load()
    {
        var chosen = Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } path ? [path, .. Candidates] : Candidates;
        foreach (var file in chosen.Where(File.Exists))
        {
            if (SKTypeface.FromFile(file) is { } typeface && typeface.GlyphCount > 0)
            {
                return (typeface, file);
            }
        }

        return (SKTypeface.Default, null);
    }
}
