using System.Globalization;
using System.Text;

namespace Microscope.Farm;

/// <summary>A job's units as people and listings read them: "all", or sorted runs such as "0-99,120,200-203".</summary>
public static class UnitRanges
{
    /// <summary>Longest text a listing shows; a longer one ends in "…" and the count.</summary>
    public const int MaxLength = 200;

    public static string Format(IReadOnlyList<int>? units)
    {
        if (units is null)
        {
            return "all";
        }

        var sorted = units.Distinct().Order().ToList();
        var text = new StringBuilder();
        for (var i = 0; i < sorted.Count;)
        {
            var start = i;
            while (i + 1 < sorted.Count && sorted[i + 1] == sorted[i] + 1)
            {
                i++;
            }

            text.Append(text.Length > 0 ? "," : "").Append(sorted[start].ToString(CultureInfo.InvariantCulture));
            if (i > start)
            {
                text.Append('-').Append(sorted[i].ToString(CultureInfo.InvariantCulture));
            }

            i++;
            if (text.Length > MaxLength)
            {
                break;
            }
        }

        return text.Length <= MaxLength ? text.ToString()
            : string.Create(CultureInfo.InvariantCulture, $"{text.ToString(0, MaxLength)}… ({sorted.Count} units)");
    }
}
