using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Json.Schema;

namespace Microscope.Farm.Deploy.Tests.Helm;

/// <summary>values.yaml against values.schema.json (as helm lint and helm install check it), and the schema's teeth.</summary>
public sealed partial class ValuesSchemaTests
{
    private static readonly JsonSchema Schema = JsonSchema.FromText(HelmChart.Read("values.schema.json"));

    [Fact]
    public void Values_yaml_is_valid_against_the_schema()
    {
        var errors = Errors(HelmChart.Values());
        Assert.True(errors.Count == 0, "values.yaml does not meet values.schema.json:\n" + string.Join("\n", errors));
    }

    [Theory]
    [InlineData("api.replicas", "\"two\"", "a string where an integer belongs")]
    [InlineData("orleans.shutdown.timeoutSeconds", "true", "a boolean where an integer belongs")]
    [InlineData("api.ingress.enabled", "\"yes\"", "a string where a boolean belongs")]
    [InlineData("storage.workloadIdentity.clientIdd", "\"x\"", "a misspelt key")]
    [InlineData("telemetry.serviceMonitor.interval", "\"soon\"", "a duration Prometheus cannot read")]
    [InlineData("render.image.pullPolicy", "\"Sometimes\"", "a value outside the enum")]
    [InlineData("unknownBlock", "{}", "an unknown top-level key")]
    public void A_broken_copy_of_values_yaml_fails(string path, string json, string what)
    {
        var values = HelmChart.Values();
        Set(values, path, JsonNode.Parse(json));
        Assert.True(Errors(values).Count > 0, $"values.schema.json accepts {what} at {path}");
    }

    [Theory]
    [InlineData("gpu", "{\"kind\":\"h100\",\"count\":1,\"memory\":\"80Gi\"}", "an unknown key in a pool's gpu block")]
    [InlineData("gpu", "{\"kind\":\"h100\",\"count\":2}", "two GPUs for a silo that renders on one device")]
    [InlineData("slotsPerGpu", "0", "a pool without slots")]
    [InlineData("name", "\"H100_pool\"", "a pool name that is no DNS label")]
    [InlineData("cudaFallback", "\"gpu\"", "an unknown CUDA fallback")]
    [InlineData("memory", "{\"headroom\":1.5,\"maxBatch\":0,\"cudaArenaMegabytes\":0}", "a memory headroom above the whole device")]
    [InlineData("memory", "{\"headroom\":0,\"maxBatch\":0,\"cudaArenaMegabytes\":0}", "a memory headroom of nothing")]
    [InlineData("memory", "{\"headroom\":0.8,\"maxBatch\":-1,\"cudaArenaMegabytes\":0}", "a negative pass cap")]
    [InlineData("memory", "{\"headroom\":0.8,\"maxBatch\":0}", "a memory block without its arena limit")]
    public void A_broken_render_pool_fails(string key, string json, string what)
    {
        var values = HelmChart.Values();
        HelmChart.At(values, "render.pools")![0]![key] = JsonNode.Parse(json);
        Assert.True(Errors(values).Count > 0, $"values.schema.json accepts {what}");
    }

    [Fact]
    public void A_missing_required_key_fails()
    {
        var values = HelmChart.Values();
        HelmChart.At(values, "storage.connectionString")!.AsObject().Remove("secretName");
        Assert.NotEmpty(Errors(values));
    }

    /// <summary>Every key of values.yaml has a comment line right above it (list items under a commented key count too).</summary>
    [Fact]
    public void Every_key_in_values_yaml_has_a_comment()
    {
        var lines = HelmChart.Read("values.yaml").Split('\n');
        var undocumented = new List<string>();
        for (var i = 0; i < lines.Length; i++)
        {
            if (KeyLine().IsMatch(lines[i]) && (i == 0 || !lines[i - 1].TrimStart().StartsWith('#')))
            {
                undocumented.Add($"line {i + 1}: {lines[i].Trim()}");
            }
        }

        Assert.True(undocumented.Count == 0, "keys without a comment above them:\n" + string.Join("\n", undocumented));
    }

    /// <summary>The chart's README lists every value (free-form blocks such as resources or nodeSelector as one row; a list of pools by its first entry's keys).</summary>
    [Fact]
    public void The_chart_readme_lists_every_value()
    {
        var readme = HelmChart.Read("README.md");
        var missing = Leaves(HelmChart.Values(), "").Where(path => !readme.Contains($"| `{path}` |", StringComparison.Ordinal)).ToList();
        Assert.True(missing.Count == 0, "README.md lacks rows for: " + string.Join(", ", missing));
    }

    private static readonly HashSet<string> FreeForm =
        ["resources", "nodeSelector", "tolerations", "affinity", "podAnnotations", "annotations", "labels", "extraEnv",
         "podSecurityContext", "securityContext", "imagePullSecrets", "organisms", "secretKeys", "extraTags"];

    private static IEnumerable<string> Leaves(JsonNode? node, string path)
    {
        var freeForm = FreeForm.Contains(path[(path.LastIndexOf('.') + 1)..]);
        if (node is JsonObject { Count: > 0 } map && !freeForm)
        {
            return map.SelectMany(kv => Leaves(kv.Value, path.Length == 0 ? kv.Key : $"{path}.{kv.Key}"));
        }

        if (node is JsonArray { Count: > 0 } list && list[0] is JsonObject && !freeForm)
        {
            return [path, .. Leaves(list[0], path + "[]")];
        }

        return [path];
    }

    private static List<string> Errors(JsonNode values)
    {
        using var document = JsonDocument.Parse(values.ToJsonString());
        var result = Schema.Evaluate(document.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
        return result.IsValid ? [] : [.. Flatten(result)];
    }

    private static IEnumerable<string> Flatten(EvaluationResults result)
    {
        foreach (var error in result.Errors ?? new Dictionary<string, string>())
        {
            yield return $"{result.InstanceLocation}: {error.Key}: {error.Value}";
        }

        foreach (var detail in result.Details ?? [])
        {
            foreach (var message in Flatten(detail))
            {
                yield return message;
            }
        }
    }

    private static void Set(JsonNode root, string dottedPath, JsonNode? value)
    {
        var cut = dottedPath.LastIndexOf('.');
        var parent = cut < 0 ? root : HelmChart.At(root, dottedPath[..cut]);
        parent!.AsObject()[dottedPath[(cut + 1)..]] = value;
    }

    [GeneratedRegex(@"^\s*(- )?[A-Za-z0-9_./""-]+:(\s|$)")]
    private static partial Regex KeyLine();
}
