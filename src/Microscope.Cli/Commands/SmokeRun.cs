using System.Globalization;

namespace Microscope.Cli.Commands;

/// <summary>
/// MICROSCOPE_SMOKE=1 shrinks every command to a smoke run of itself: at most 2 optimization steps,
/// the first 2 units asked for, 64 px images (gradcheck too), 2 images per pass, 4 dataset examples
/// and 1 gradcheck direction. The docs test runs every documented example this way (docs/README.md's examples as
/// written, in seconds); the command says so on stderr, since its pictures are not the real ones.
/// </summary>
internal static class SmokeRun
{
    public const string Variable = "MICROSCOPE_SMOKE";

    public static bool Active => Environment.GetEnvironmentVariable(Variable) == "1";

    public static int Cap(int value, int most) => Active ? Math.Min(value, most) : value;

    /// <summary>The first two units of a range (0-63 → 0-1) or list (3,5,8 → 3,5).</summary>
    public static string? Units(string? units)
    {
        if (!Active || units is null)
        {
            return units;
        }

        if (units.Contains(',', StringComparison.Ordinal))
        {
            return string.Join(',', units.Split(',').Take(2));
        }

        return units.Split('-') is [var a, var b] && int.TryParse(a, CultureInfo.InvariantCulture, out var from) && int.TryParse(b, CultureInfo.InvariantCulture, out var to)
            ? string.Create(CultureInfo.InvariantCulture, $"{from}-{Math.Min(to, from + 1)}")
            : units;
    }

    public static void Announce(CliContext context)
    {
        if (Active)
        {
            context.Error.WriteLine($"smoke run ({Variable}=1): at most 2 steps, 2 units, 64 px, 2 images per pass, 4 examples, 1 gradcheck direction.");
        }
    }
}
