using System.Globalization;

namespace Microscope.Farm.Storage;

/// <summary>
/// The one place that builds store paths. Every segment is checked (the path-traversal guard), so
/// a path built here names exactly one place under the store's root:
/// models/{model}/{version}/layers/{layer}/units/{unit}/{lens}/{optionsHash}.{png|json}.
/// </summary>
public static class LensPaths
{

    public static string Model(string model, string version, string file) =>
        $"models/{Segment(model, "model")}/{Hash(version, "version")}/{Segment(file, "file")}";

    public static string ModelPrefix(string model, string version) => $"models/{Segment(model, "model")}/{Hash(version, "version")}/";

    public static string UnitLens(string model, string version, string layer, int unit, string lens, string optionsHash, string extension) =>
        $"{Layer(model, version, layer)}/units/{Unit(unit)}/{Segment(lens, "lens")}/{Hash(optionsHash, "options hash")}.{Extension(extension)}";

    public static string LayerLens(string model, string version, string layer, string lens, string optionsHash, string extension) =>
        $"{Layer(model, version, layer)}/{Segment(lens, "lens")}/{Hash(optionsHash, "options hash")}.{Extension(extension)}";

    public static string DatasetShard(string model, string version, string layer, string optionsHash, int shard, int shards) =>
        shard < 0 || shard >= shards
            ? throw new ArgumentException($"shard {shard} of {shards} does not exist.")
            : $"{Layer(model, version, layer)}/dataset-examples/{Hash(optionsHash, "options hash")}/shards/{Unit(shard)}-of-{Unit(shards)}.json";

    /// <summary>The per-layer manifest: what exists for the layer's units (rewritten as lenses arrive).</summary>
    public static string LayerIndex(string model, string version, string layer) => $"{Layer(model, version, layer)}/index.json";

    private static string Layer(string model, string version, string layer) =>
        $"models/{Segment(model, "model")}/{Hash(version, "version")}/layers/{Segment(layer, "layer")}";

    /// <summary>Letters, digits, '.', '_' and '-', starting with a letter or digit, no "..": never a separator or a way up.</summary>
    public static string Segment(string text, string what) =>
        IdRule.IsValid(text) ? text
            : throw new ArgumentException($"'{Shorten(text)}' is not a valid {what} in a store path: use letters, digits, '.', '_' and '-' (at most 128, starting with a letter or digit, no '..').");

    private static string Hash(string text, string what) =>
        text is { Length: >= 8 and <= 64 } && text.All(c => char.IsAsciiDigit(c) || c is >= 'a' and <= 'f') ? text : throw new ArgumentException($"'{Shorten(text)}' is not a valid {what}: 8 to 64 lowercase hex digits.");

    private static string Unit(int unit) => unit >= 0 ? unit.ToString(CultureInfo.InvariantCulture) : throw new ArgumentException($"unit {unit} is negative.");

    private static string Extension(string extension) =>
        extension is "png" or "json" ? extension : throw new ArgumentException($"'{Shorten(extension)}' is not a lens extension: png or json.");

    private static string Shorten(string? text) => text is null ? "(null)" : text.Length > 60 ? text[..60] + "…" : text;
}
