using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Microscope.Farm.Deploy.Tests.Helm;

/// <summary>
/// Every value a template reads exists in values.yaml, so a renamed or misspelt key cannot render as
/// nothing. The rules, since the templates are not executed:
/// <list type="bullet">
/// <item>absolute chains (.Values.a.b, $.Values.a.b, and .root.Values.a.b in helpers given the root
/// in a dict) must name a key of values.yaml; the chain is checked up to where it ends;</item>
/// <item>a variable bound by range over a list of values ({{ range $pool := .Values.render.pools }})
/// stands for an element: its chains ($pool.gpu.count) are checked against the first element of that
/// list in values.yaml, so every key a pool template reads must appear in the first pool;</item>
/// <item>manifests read nothing relative to a with/range dot other than the dot itself
/// ({{ with .Values.x }}{{ toYaml . }}), so nothing escapes the two rules above; helpers may read the
/// fields of the dict their callers pass (.root, .image, .httpPort, .component).</item>
/// </list>
/// String literals inside actions are ignored.
/// </summary>
public sealed partial class ValuesPathTests
{
    private static readonly string[] RootObjects = ["Values", "Release", "Chart", "Capabilities", "Files", "Template"];

    public static TheoryData<string> Files() => [.. HelmChart.TemplateFiles(), "NOTES.txt"];

    [Theory]
    [MemberData(nameof(Files))]
    public void Every_Values_path_exists_in_values_yaml(string file)
    {
        var values = HelmChart.Values();
        var missing = AbsolutePaths(HelmChart.Template(file)).Where(p => !HelmChart.Exists(values, p)).Distinct().ToList();
        Assert.True(missing.Count == 0, $"{file} reads values that values.yaml lacks: {string.Join(", ", missing.Select(p => ".Values." + p))}");
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Every_range_variable_path_exists_in_the_first_list_element(string file)
    {
        var values = HelmChart.Values();
        var missing = new List<string>();
        foreach (var (variable, list, field) in RangeVariablePaths(HelmChart.Template(file)))
        {
            var first = HelmChart.At(values, list) is JsonArray { Count: > 0 } items ? items[0] : null;
            Assert.True(first is not null, $"{file} ranges over .Values.{list}, which is not a non-empty list in values.yaml");
            if (!HelmChart.Exists(first, field))
            {
                missing.Add($"{variable}.{field} (first element of .Values.{list})");
            }
        }

        Assert.True(missing.Count == 0, $"{file} reads fields the first element lacks: {string.Join(", ", missing.Distinct())}");
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Manifests_read_no_fields_relative_to_a_with_or_range_dot(string file)
    {
        if (file.EndsWith(".tpl", StringComparison.Ordinal))
        {
            return;
        }

        var relative = GoTemplate.Actions(HelmChart.Template(file))
            .SelectMany(a => DotField().Matches(a.Code).Select(m => m.Groups[1].Value))
            .Where(name => !RootObjects.Contains(name))
            .Distinct().ToList();
        Assert.True(relative.Count == 0, $"{file} reads .{string.Join(", .", relative)} relative to the dot; read through .Values or a range variable instead");
    }

    [Fact]
    public void The_path_rules_see_what_they_should()
    {
        const string template = """
            {{ .Values.a.b }} {{ $.Values.c }} {{ include "x" (dict "root" .) }} {{ .root.Values.d.e | quote }}
            {{- range $i, $pool := .Values.render.pools }}{{ $pool.gpu.count }}{{ $pool.name | quote }}{{ end }}
            {{ "not.Values.f" }}
            """;
        Assert.Equal(["a.b", "c", "d.e", "render.pools"], AbsolutePaths(template).Order(StringComparer.Ordinal));
        Assert.Equal([("$pool", "render.pools", "gpu.count"), ("$pool", "render.pools", "name")], RangeVariablePaths(template));
    }

    /// <summary>The dotted paths after .Values in every action.</summary>
    private static IEnumerable<string> AbsolutePaths(string template) =>
        GoTemplate.Actions(template).SelectMany(a => ValuesChain().Matches(a.Code).Select(m => m.Groups[1].Value.TrimStart('.')));

    /// <summary>(variable, list path, field path) for each chain on a variable bound by range over a list of values.</summary>
    private static List<(string Variable, string List, string Field)> RangeVariablePaths(string template)
    {
        var actions = GoTemplate.Actions(template);
        var lists = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var action in actions)
        {
            if (RangeOverValues().Match(action.Code) is { Success: true } m)
            {
                lists[m.Groups[1].Value] = m.Groups[2].Value.TrimStart('.');
            }
        }

        return [.. actions.SelectMany(a => VariableChain().Matches(a.Code))
            .Where(m => lists.ContainsKey(m.Groups[1].Value))
            .Select(m => (m.Groups[1].Value, lists[m.Groups[1].Value], m.Groups[2].Value.TrimStart('.')))];
    }

    [GeneratedRegex(@"\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)")]
    private static partial Regex ValuesChain();

    [GeneratedRegex(@"^range\s+(?:\$\w+\s*,\s*)?(\$\w+)\s*:=\s*\$?\.Values((?:\.\w+)+)\s*$")]
    private static partial Regex RangeOverValues();

    [GeneratedRegex(@"(\$\w+)((?:\.[A-Za-z_][A-Za-z0-9_]*)+)")]
    private static partial Regex VariableChain();

    [GeneratedRegex(@"(?<![\w$)\]])\.([A-Za-z_]\w*)")]
    private static partial Regex DotField();
}
