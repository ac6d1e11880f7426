using System.Text.RegularExpressions;
using Microscope.Testing;
using YamlDotNet.Core;
using YamlDotNet.Serialization;

namespace Microscope.Farm.Deploy.Tests.Images;

/// <summary>
/// deploy/compose.yaml as Compose reads it: YAML merge keys (&lt;&lt;: *anchor) applied, and
/// ${VAR:-default} taking its default (these tests set no variables).
/// </summary>
internal sealed partial class ComposeFile
{
    public const string RelativePath = "deploy/compose.yaml";

    private ComposeFile(Dictionary<object, object> root) => Root = root;

    public Dictionary<object, object> Root { get; }

    public IReadOnlyDictionary<string, Service> Services =>
        Map(Root["services"]).ToDictionary(s => (string)s.Key, s => new Service((string)s.Key, Map(s.Value)));

    /// <summary>The farm's silos: the services whose image is built from one of the farm's Dockerfiles.</summary>
    public IEnumerable<Service> Silos => Services.Values.Where(s => s.Dockerfile is not null);

    public static ComposeFile Load()
    {
        using var reader = new StringReader(File.ReadAllText(Path.Combine(RepositoryRoot.Path, RelativePath)));
        var root = new DeserializerBuilder().Build().Deserialize<Dictionary<object, object>>(new MergingParser(new Parser(reader)));
        return new ComposeFile(root);
    }

    public static Dictionary<object, object> Map(object? value) => value as Dictionary<object, object> ?? [];

    public static IEnumerable<string> List(object? value) => (value as List<object> ?? []).Select(v => Interpolate((string)v));

    public static string Interpolate(string value) => Variable().Replace(value, m => m.Groups["default"].Value);

    public sealed record Service(string Name, Dictionary<object, object> Definition)
    {
        /// <summary>The Dockerfile (relative to the repository root) the image is built from; null for a pulled image.</summary>
        public string? Dockerfile => Definition.TryGetValue("build", out var build) && Map(build).TryGetValue("dockerfile", out var file) ? (string)file : null;

        public IReadOnlyDictionary<string, string> Environment =>
            Map(Definition.GetValueOrDefault("environment")).ToDictionary(e => (string)e.Key, e => Interpolate(e.Value?.ToString() ?? ""));

        public IReadOnlyList<string> Command => [.. List(Definition.GetValueOrDefault("command"))];

        public IReadOnlyList<string> Ports => [.. List(Definition.GetValueOrDefault("ports"))];

        public IReadOnlyList<string> Volumes => [.. List(Definition.GetValueOrDefault("volumes"))];

        public string? Address(string network) =>
            Map(Map(Definition.GetValueOrDefault("networks")).GetValueOrDefault(network)).GetValueOrDefault("ipv4_address") as string;
    }

    [GeneratedRegex(@"\$\{(?<name>\w+)(:?-(?<default>[^}]*))?\}")]
    private static partial Regex Variable();
}
