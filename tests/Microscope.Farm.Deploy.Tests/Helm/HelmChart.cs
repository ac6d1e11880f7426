using System.Text.Json.Nodes;
using Microscope.Testing;

namespace Microscope.Farm.Deploy.Tests.Helm;

/// <summary>The chart under helm/microscope-farm, read as files: no helm binary is needed.</summary>
internal static class HelmChart
{
    public static string Folder { get; } = RepositoryRoot.Combine("helm", "microscope-farm");

    public static string TemplatesFolder { get; } = Path.Combine(Folder, "templates");

    /// <summary>values.yaml as JSON, typed the way Helm reads it.</summary>
    public static JsonNode Values() => YamlJson.Parse(Read("values.yaml"))[0]
        ?? throw new InvalidOperationException("values.yaml is empty.");

    public static string Read(string relativePath) => File.ReadAllText(Path.Combine(Folder, relativePath));

    /// <summary>The manifest templates (templates/*.yaml), by file name.</summary>
    public static IEnumerable<string> Manifests() =>
        Directory.EnumerateFiles(TemplatesFolder, "*.yaml").Select(Path.GetFileName).Order(StringComparer.Ordinal)!;

    /// <summary>Every file with template actions: the manifests and _helpers.tpl.</summary>
    public static IEnumerable<string> TemplateFiles() =>
        Directory.EnumerateFiles(TemplatesFolder).Where(f => f.EndsWith(".yaml", StringComparison.Ordinal) || f.EndsWith(".tpl", StringComparison.Ordinal))
            .Select(Path.GetFileName).Order(StringComparer.Ordinal)!;

    public static string Template(string fileName) => File.ReadAllText(Path.Combine(TemplatesFolder, fileName));

    /// <summary>The node at a dotted path (a.b.c) below a JSON node, or null where a step is missing or not an object.</summary>
    public static JsonNode? At(JsonNode? node, string dottedPath) => TryGet(node, dottedPath, out var value) ? value : null;

    /// <summary>Whether a dotted path names a key that exists (its value may be null, an empty map or an empty list).</summary>
    public static bool Exists(JsonNode? node, string dottedPath) => TryGet(node, dottedPath, out _);

    private static bool TryGet(JsonNode? node, string dottedPath, out JsonNode? value)
    {
        foreach (var step in dottedPath.Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            if (node is not JsonObject o || !o.TryGetPropertyValue(step, out node))
            {
                value = null;
                return false;
            }
        }

        value = node;
        return true;
    }
}
