using System.Diagnostics.Metrics;
using System.Text.Json;
using Microscope.Testing;
using YamlDotNet.Serialization;

namespace Microscope.Farm.Deploy.Tests.Images;

/// <summary>The files under deploy/ that the image and compose tests read: the dashboard, the alerting rules, Prometheus' configuration.</summary>
internal static class DeployFiles
{
    public static string FullPath(string relative) => Path.Combine(RepositoryRoot.Path, relative);

    /// <summary>The build configuration of this test run (bin/Release/net10.0: Release), which the host was built in too.</summary>
    public static string Configuration => new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;

    public static JsonElement Dashboard() => JsonDocument.Parse(File.ReadAllText(FullPath("deploy/grafana/microscope-farm.json"))).RootElement;

    /// <summary>Every PromQL expression of the dashboard's panels.</summary>
    public static IEnumerable<string> DashboardExpressions() =>
        Dashboard().GetProperty("panels").EnumerateArray().SelectMany(p => p.GetProperty("targets").EnumerateArray()).Select(t => t.GetProperty("expr").GetString()!);

    public static Dictionary<object, object> Yaml(string relative) =>
        new DeserializerBuilder().Build().Deserialize<Dictionary<object, object>>(File.ReadAllText(FullPath(relative)));

    /// <summary>The alerting rules, each as its YAML mapping.</summary>
    public static IReadOnlyList<Dictionary<object, object>> AlertRules() =>
        [.. ((List<object>)Yaml("deploy/prometheus/alerts.yaml")["groups"]).Cast<Dictionary<object, object>>()
            .SelectMany(g => ((List<object>)g["rules"]).Cast<Dictionary<object, object>>())];

    /// <summary>The farm's own instruments (FarmTelemetry's), by the names Prometheus sees.</summary>
    public static IReadOnlyList<(Instrument Instrument, IReadOnlyList<string> Names)> FarmInstruments() =>
        [.. typeof(FarmTelemetry).GetFields().Select(f => f.GetValue(null)).OfType<Instrument>().Select(i => (i, Metrics.PrometheusNames(i)))];
}
