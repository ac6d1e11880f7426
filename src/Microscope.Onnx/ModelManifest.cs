using System.Text.Json;
using System.Text.Json.Serialization;

namespace Microscope.Onnx;

/// <summary>Which layers to show beyond the automatic choice, and under which names.</summary>
public sealed record LayerOptions
{
    /// <summary>Layer id (as derived from the model) → the id to show instead, such as "layer3.1.relu".</summary>
    public Dictionary<string, string> Aliases { get; init; } = [];

    /// <summary>Layer ids (derived or aliased) to leave out.</summary>
    public string[] Hide { get; init; } = [];

    /// <summary>Tensor names to show even though the automatic choice skips them.</summary>
    public string[] Add { get; init; } = [];

    /// <summary>
    /// Tensor name or layer id → its axes, stated by hand where the catalog cannot follow them from
    /// the image (see <see cref="Layout.LayerRoles"/>): "N,H,W,C", "N,T=14x14+1,C", "(T=14x14+1·N),C".
    /// </summary>
    public Dictionary<string, string> Roles { get; init; } = [];
}

/// <summary>
/// What a model organism is and how to feed it: kept as a small JSON file beside (or inside the
/// repository for) every model. A model given by path without one gets an inferred manifest whose
/// <see cref="Assumptions"/> say what was guessed.
/// </summary>
public sealed record ModelManifest
{
    public static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    public required string Id { get; init; }

    public string Title { get; init; } = "";

    /// <summary>Where the model comes from (package, paper, exporter), for people.</summary>
    public string Source { get; init; } = "";

    public string? License { get; init; }

    /// <summary>The ONNX file, relative to the manifest's folder (or absolute for a model given by path).</summary>
    public required string Model { get; init; }

    public InputSpec Input { get; init; } = new();

    public LayerOptions Layers { get; init; } = new();

    /// <summary>What was inferred rather than stated (empty for a written manifest).</summary>
    [JsonIgnore]
    public IReadOnlyList<string> Assumptions { get; init; } = [];

    /// <summary>The folder relative paths in this manifest are resolved against.</summary>
    [JsonIgnore]
    public string BaseDirectory { get; init; } = "";

    /// <summary>Where the model file is on this machine: not part of the manifest's JSON, so a stored manifest (and the version hashed from it) does not depend on the folder it was published from.</summary>
    [JsonIgnore]
    public string ModelPath => Path.GetFullPath(Path.Combine(BaseDirectory, Model));

    [JsonIgnore]
    public string? PreprocessingModelPath =>
        Input.PreprocessingModel is null ? null : Path.GetFullPath(Path.Combine(BaseDirectory, Input.PreprocessingModel));

    public static ModelManifest Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new ModelFormatException($"{path}: no such manifest.");
        }

        ModelManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<ModelManifest>(File.ReadAllText(path), JsonOptions);
        }
        catch (JsonException ex)
        {
            throw new ModelFormatException($"{path}: not a valid manifest: {ex.Message}", ex);
        }

        if (manifest is null)
        {
            throw new ModelFormatException($"{path}: the manifest is empty.");
        }

        // JSON null where the record has a default ("input": null, "layers": {"hide": null}) would fail later as a null reference.
        if (manifest.Model is null || manifest.Input is null || manifest.Layers is not { Aliases: not null, Hide: not null, Add: not null } ||
            manifest.Layers.Hide.Contains(null) || manifest.Layers.Add.Contains(null) || manifest.Layers.Aliases.Values.Contains(null))
        {
            throw new ModelFormatException($"{path}: \"model\", \"input\" and \"layers\" (with its \"aliases\", \"hide\" and \"add\") must not be null; leave a field out to take its default.");
        }

        manifest = manifest with { Title = manifest.Title ?? "", Source = manifest.Source ?? "" };
        if (!Ids.IsValid(manifest.Id))
        {
            throw new ModelFormatException($"{path}: '{Shorten(manifest.Id)}' is not a valid model id (letters, digits, '.', '_' and '-', starting with a letter or digit).");
        }

        manifest.Input.Validate(path);
        return manifest with { BaseDirectory = Path.GetDirectoryName(Path.GetFullPath(path))! };
    }

    private static string Shorten(string? text) => text is null ? "(null)" : text.Length > 80 ? text[..80] + "…" : text;
}
