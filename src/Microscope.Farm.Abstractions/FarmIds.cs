using System.Globalization;
using Microscope.Onnx;

namespace Microscope.Farm;

/// <summary>
/// The one place that builds and parses the keys of model, layer and unit grains, and the path
/// segments of permalinks: "resnet18", "resnet18/layer3.1.relu", "resnet18/layer3.1.relu/42".
/// Model and layer ids follow <see cref="Ids"/> (URL-safe, no '/'), so '/' separates them unambiguously.
/// </summary>
public static class FarmIds
{
    public static string Model(string model) => Check(model, "model");

    public static string Layer(string model, string layer) => $"{Check(model, "model")}/{Check(layer, "layer")}";

    public static string Unit(string model, string layer, int unit) =>
        unit < 0 ? throw new FarmInputException($"unit {unit} is negative; units are numbered from 0.")
        : $"{Layer(model, layer)}/{unit.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>Splits a layer grain key into model and layer.</summary>
    public static (string Model, string Layer) ParseLayer(string key)
    {
        var parts = key.Split('/');
        return parts.Length == 2 ? (Check(parts[0], "model"), Check(parts[1], "layer"))
            : throw new FarmInputException($"'{key}' is not a layer key: expected model/layer.");
    }

    /// <summary>Splits a unit grain key into model, layer and unit.</summary>
    public static (string Model, string Layer, int Unit) ParseUnit(string key)
    {
        var parts = key.Split('/');
        if (parts.Length != 3)
        {
            throw new FarmInputException($"'{key}' is not a unit key: expected model/layer/unit.");
        }

        return (Check(parts[0], "model"), Check(parts[1], "layer"), ParseUnitNumber(parts[2]));
    }

    /// <summary>A unit number as text: digits only, no leading zeros (so each unit has one spelling).</summary>
    public static int ParseUnitNumber(string text) =>
        text.Length is > 0 and <= 9 && text.All(char.IsAsciiDigit) && (text.Length == 1 || text[0] != '0')
            ? int.Parse(text, NumberStyles.None, CultureInfo.InvariantCulture)
            : throw new FarmInputException($"'{Shorten(text)}' is not a unit: units are numbers 0, 1, 2, … without leading zeros.");

    public static bool IsValid(string? id) => Ids.IsValid(id);

    /// <summary>Returns the id when it is a valid model, layer or lens id; otherwise says what is wrong.</summary>
    public static string Check(string? id, string what) =>
        Ids.IsValid(id) ? id!
        : throw new FarmInputException($"'{Shorten(id ?? "")}' is not a valid {what} id: use letters, digits, '.', '_' and '-' (at most {Ids.MaxLength}, starting with a letter or digit, no '..').");

    /// <summary>
    /// A user's input as error messages (and so log lines) quote it: at most 80 characters, control and
    /// invisible characters written as \uXXXX, so that a quoted id can neither break a line nor hide what it is.
    /// </summary>
    public static string Shorten(string text)
    {
        var cut = text.Length > 80 ? text[..80] : text;
        var quoted = new System.Text.StringBuilder(cut.Length);
        foreach (var c in cut)
        {
            if (char.IsControl(c) || char.GetUnicodeCategory(c) is UnicodeCategory.Format or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator)
            {
                quoted.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
            }
            else
            {
                quoted.Append(c);
            }
        }

        return text.Length > 80 ? quoted + "…" : quoted.ToString();
    }
}

/// <summary>A request the farm cannot take as given; the message says what to change.</summary>
[GenerateSerializer]
public sealed class FarmInputException : Exception
{
    public FarmInputException(string message) : base(message)
    {
    }

    public FarmInputException()
    {
    }

    public FarmInputException(string message, Exception inner) : base(message, inner)
    {
    }
}

/// <summary>A model, layer, unit, lens or job that does not exist; the message names which.</summary>
[GenerateSerializer]
public sealed class FarmNotFoundException : Exception
{
    public FarmNotFoundException(string message) : base(message)
    {
    }

    public FarmNotFoundException()
    {
    }

    public FarmNotFoundException(string message, Exception inner) : base(message, inner)
    {
    }
}

/// <summary>A caller's quota would be exceeded (unfinished jobs, items a day); the message says which and what to do.</summary>
[GenerateSerializer]
public sealed class FarmQuotaException : Exception
{
    public FarmQuotaException(string message) : base(message)
    {
    }

    public FarmQuotaException()
    {
    }

    public FarmQuotaException(string message, Exception inner) : base(message, inner)
    {
    }
}
