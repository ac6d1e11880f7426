using System.Text;

namespace Microscope.Onnx;

/// <summary>
/// The one place where model, layer and unit ids are built and checked. Ids become permanent
/// links (/models/{model}/layers/{layer}/units/{unit}), so they are URL-safe without escaping,
/// derived only from the model file (stable across runs and machines) and unique within a model.
/// </summary>
public static class Ids
{
    public const int MaxLength = IdRule.MaxLength;

    /// <summary>Letters, digits, '.', '_' and '-'; starting with a letter or digit; no ".."; at most 128 (see <see cref="IdRule"/>).</summary>
    public static bool IsValid(string? id) => IdRule.IsValid(id);

    /// <summary>Turns an ONNX name into an id: every other character becomes '_'.</summary>
    public static string FromName(string name)
    {
        var builder = new StringBuilder(name.Length);
        foreach (var c in name)
        {
            builder.Append(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' ? c : '_');
        }

        var id = builder.ToString().Replace("..", "_.", StringComparison.Ordinal).Trim('.', '_', '-');
        if (id.Length == 0)
        {
            id = "layer";
        }

        return id.Length > MaxLength ? id[..MaxLength] : id;
    }

    /// <summary>Makes <paramref name="id"/> unique among <paramref name="taken"/> by a numeric suffix, and takes it.</summary>
    public static string Unique(string id, ISet<string> taken)
    {
        var candidate = id;
        for (var n = 2; !taken.Add(candidate); n++)
        {
            var suffix = "-" + n.ToString(System.Globalization.CultureInfo.InvariantCulture);
            candidate = (id.Length + suffix.Length > MaxLength ? id[..(MaxLength - suffix.Length)] : id) + suffix;
        }

        return candidate;
    }

    /// <summary>Parses a unit id (a channel or output index) against the layer's unit count.</summary>
    public static int ParseUnit(string text, string layerId, int units)
    {
        if (!int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var unit) ||
            text.Length > 1 && text[0] == '0')
        {
            throw new UnknownLayerException($"'{text}' is not a unit id: units of layer '{layerId}' are numbered 0 to {units - 1}.");
        }

        if (unit >= units)
        {
            throw new UnknownLayerException($"layer '{layerId}' has {units} units (0 to {units - 1}); there is no unit {unit}.");
        }

        return unit;
    }
}
