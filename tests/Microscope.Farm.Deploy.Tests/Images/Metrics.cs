using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Microscope.Farm.Deploy.Tests.Images;

/// <summary>Prometheus' side of the metrics: the text a /metrics scrape returns, and the names a PromQL expression selects.</summary>
internal static partial class Metrics
{
    private static readonly HashSet<string> Keywords = ["and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool", "inf", "nan"];

    public sealed record Sample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

    /// <summary>The samples of a scrape in the Prometheus text format (comment lines left out).</summary>
    public static IReadOnlyList<Sample> Parse(string text) =>
        [.. text.Split('\n').Where(l => l.Length > 0 && !l.StartsWith('#')).Select(l => SampleLine().Match(l)).Where(m => m.Success).Select(m => new Sample(
            m.Groups["name"].Value,
            LabelPair().Matches(m.Groups["labels"].Value).ToDictionary(l => l.Groups[1].Value, l => l.Groups[2].Value),
            double.Parse(m.Groups["value"].Value, NumberStyles.Float, CultureInfo.InvariantCulture)))];

    /// <summary>The metric names a PromQL expression selects: what is left once strings, label matchers, ranges, grouping clauses, functions, keywords, numbers and $variables are taken out.</summary>
    public static IReadOnlySet<string> Selected(string expression)
    {
        var bare = Grouping().Replace(Ranges().Replace(Matchers().Replace(Strings().Replace(expression, ""), ""), ""), "");
        return Identifier().Matches(bare).Select(m => m.Value).Where(n => !Keywords.Contains(n)).ToHashSet();
    }

    /// <summary>
    /// The names the OpenTelemetry Prometheus exporter gives an instrument: dots become underscores,
    /// a unit outside braces is spelled out (s: seconds) and appended, counters end in _total,
    /// histograms are their _bucket, _sum and _count.
    /// </summary>
    public static IReadOnlyList<string> PrometheusNames(Instrument instrument)
    {
        var name = instrument.Name.Replace('.', '_');
        if (instrument.Unit is { Length: > 0 } unit && !unit.StartsWith('{'))
        {
            name += "_" + (unit switch { "s" => "seconds", "ms" => "milliseconds", "By" => "bytes", _ => unit });
        }

        var type = instrument.GetType().GetGenericTypeDefinition();
        return type == typeof(Counter<>) || type == typeof(ObservableCounter<>) ? [name + "_total"]
            : type == typeof(Histogram<>) ? [name + "_bucket", name + "_sum", name + "_count"]
            : [name];
    }

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})?\s+(?<value>\S+)")]
    private static partial Regex SampleLine();

    [GeneratedRegex(@"(\w+)=""((?:[^""\\]|\\.)*)""")]
    private static partial Regex LabelPair();

    [GeneratedRegex(@"""(?:[^""\\]|\\.)*""")]
    private static partial Regex Strings();

    [GeneratedRegex(@"\{[^}]*\}")]
    private static partial Regex Matchers();

    [GeneratedRegex(@"\[[^\]]*\]")]
    private static partial Regex Ranges();

    [GeneratedRegex(@"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")]
    private static partial Regex Grouping();

    [GeneratedRegex(@"(?<![\w$.])(?>[a-zA-Z_:][a-zA-Z0-9_:]*)(?!\s*\()")]
    private static partial Regex Identifier();
}
