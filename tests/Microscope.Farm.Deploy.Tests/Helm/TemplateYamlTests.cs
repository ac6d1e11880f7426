using System.Text.Json.Nodes;

namespace Microscope.Farm.Deploy.Tests.Helm;

/// <summary>
/// Each manifest template is YAML once its actions are taken out (see <see cref="GoTemplate.Strip"/>),
/// and every document in it is a Kubernetes object: apiVersion, kind and metadata.name.
/// </summary>
public sealed class TemplateYamlTests
{
    public static TheoryData<string> Manifests() => [.. HelmChart.Manifests()];

    [Theory]
    [MemberData(nameof(Manifests))]
    public void Template_is_well_formed_yaml_of_kubernetes_objects(string file)
    {
        var documents = Documents(file);
        Assert.NotEmpty(documents);
        foreach (var (document, index) in documents.Select((d, i) => (d, i)))
        {
            var where = $"{file}, document {index + 1}";
            Assert.True(document is JsonObject, $"{where} is not a mapping");
            Assert.True(document["apiVersion"] is JsonValue, $"{where} has no apiVersion");
            Assert.True(document["kind"] is JsonValue, $"{where} has no kind");
            Assert.True(document["metadata"]?["name"] is JsonValue, $"{where} has no metadata.name");
        }
    }

    [Fact]
    public void The_chart_has_the_objects_the_farm_needs()
    {
        var kinds = HelmChart.Manifests().SelectMany(Documents).Select(d => (string)d["kind"]!).ToHashSet();
        Assert.Superset(
            new HashSet<string> { "Deployment", "Service", "ServiceAccount", "Role", "RoleBinding", "PodDisruptionBudget", "Ingress", "ServiceMonitor", "ScaledObject" },
            kinds);
    }

    [Fact]
    public void Broken_yaml_is_caught()
    {
        const string template = """
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: {{ .Release.Name }}
            data:
              a: [unclosed
            """;
        Assert.ThrowsAny<YamlDotNet.Core.YamlException>(() => YamlJson.Parse(GoTemplate.Strip(template).Yaml));
    }

    [Fact]
    public void Stripping_drops_control_lines_and_keeps_value_placeholders()
    {
        const string template = """
            {{- if .Values.on }}
            metadata:
              labels:
                {{- include "labels" . | nindent 4 }}
              name: {{ include "fullname" . }}-api
            spec:
              replicas: {{ .Values.api.replicas }}
            {{- end }}
            """;
        var stripped = GoTemplate.Strip(template);
        var document = YamlJson.Parse(stripped.Yaml)[0]!;
        Assert.Null(document["metadata"]!["labels"]);
        Assert.Equal(".Values.api.replicas", stripped.ActionOf((string?)document["spec"]!["replicas"]));
        Assert.EndsWith("-api", (string)document["metadata"]!["name"]!);
    }

    /// <summary>The non-empty documents of a manifest template with its actions taken out.</summary>
    internal static List<JsonNode> Documents(string file) =>
        [.. YamlJson.Parse(GoTemplate.Strip(HelmChart.Template(file)).Yaml).OfType<JsonNode>()];
}
