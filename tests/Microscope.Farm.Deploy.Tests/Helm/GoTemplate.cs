using System.Text;
using System.Text.RegularExpressions;

namespace Microscope.Farm.Deploy.Tests.Helm;

/// <summary>
/// Just enough of Go's template syntax to check a chart without Helm: the actions of a template,
/// the bodies of its defines, and its text with the actions taken out so that the rest parses as YAML.
/// </summary>
internal static partial class GoTemplate
{
    /// <summary>One action: where it is in the text and what is between the braces, trim markers and spaces removed.</summary>
    public sealed record Action(int Start, int Length, string Body)
    {
        /// <summary>The keyword of a control action (if, else, end, range, with, define, …), or null for one that writes a value.</summary>
        public string? Keyword => ControlKeyword().Match(Body) is { Success: true } m ? m.Groups[1].Value : null;

        /// <summary>A variable assignment ($x := …) writes nothing.</summary>
        public bool IsAssignment => Assignment().IsMatch(Body);

        public bool WritesNothing => Keyword is not null || IsAssignment;

        /// <summary>The body with string literals blanked, for looking at names without matching words inside strings.</summary>
        public string Code => StringLiteral().Replace(Body, "\"\"");
    }

    /// <summary>A template with its actions taken out: control actions and whole-line actions removed, value actions replaced by placeholders.</summary>
    /// <param name="Yaml">What is left, YAML if the template is well-formed.</param>
    /// <param name="Placeholders">Placeholder scalar → the action it stands for, so a check can see which value a field is written from.</param>
    public sealed record Stripped(string Yaml, IReadOnlyDictionary<string, string> Placeholders)
    {
        /// <summary>The action a placeholder scalar stands for, or null when the value is literal text.</summary>
        public string? ActionOf(string? scalar) => scalar is not null && Placeholders.TryGetValue(scalar, out var body) ? body : null;
    }

    public static string WithoutComments(string text) => Comment().Replace(text, "");

    public static IReadOnlyList<Action> Actions(string text) =>
        [.. ActionPattern().Matches(WithoutComments(text)).Select(m => new Action(m.Index, m.Length, m.Groups[1].Value.Trim()))];

    /// <summary>
    /// The template's text with its actions taken out. A line that holds only actions goes entirely
    /// (control flow, assignments, and includes or toYaml that write whole blocks); elsewhere a control
    /// action becomes nothing and a value action becomes a placeholder scalar (tpl0, tpl1, …).
    /// </summary>
    public static Stripped Strip(string template)
    {
        var placeholders = new Dictionary<string, string>(StringComparer.Ordinal);
        var output = new StringBuilder();
        foreach (var line in WithoutComments(template).Split('\n'))
        {
            if (line.Contains("{{", StringComparison.Ordinal) != line.Contains("}}", StringComparison.Ordinal))
            {
                throw new FormatException($"An action spans lines (not supported by this check): {line.Trim()}");
            }

            var matches = ActionPattern().Matches(line);
            if (matches.Count == 0)
            {
                output.Append(line).Append('\n');
                continue;
            }

            if (ActionPattern().Replace(line, "").Trim().Length == 0)
            {
                continue;
            }

            output.Append(ActionPattern().Replace(line, m =>
            {
                var action = new Action(m.Index, m.Length, m.Groups[1].Value.Trim());
                if (action.WritesNothing)
                {
                    return "";
                }

                var name = $"tpl{placeholders.Count}";
                placeholders[name] = action.Body;
                return name;
            })).Append('\n');
        }

        return new Stripped(output.ToString(), placeholders);
    }

    /// <summary>The bodies of the named templates ({{ define "name" }} … {{ end }}), nested blocks included.</summary>
    public static IReadOnlyDictionary<string, string> Defines(string text)
    {
        text = WithoutComments(text);
        var defines = new Dictionary<string, string>(StringComparer.Ordinal);
        string? name = null;
        var bodyStart = 0;
        var depth = 0;
        foreach (var action in Actions(text))
        {
            switch (action.Keyword)
            {
                case "define" when depth == 0:
                    name = DefineName().Match(action.Body).Groups[1].Value;
                    bodyStart = action.Start + action.Length;
                    depth = 1;
                    break;
                case "if" or "range" or "with" or "define" or "block":
                    depth++;
                    break;
                case "end":
                    depth--;
                    if (depth == 0 && name is not null)
                    {
                        defines[name] = text[bodyStart..action.Start];
                        name = null;
                    }

                    break;
            }
        }

        return defines;
    }

    [GeneratedRegex(@"\{\{-?\s*/\*.*?\*/\s*-?\}\}", RegexOptions.Singleline)]
    private static partial Regex Comment();

    [GeneratedRegex(@"\{\{-?(.*?)-?\}\}", RegexOptions.Singleline)]
    private static partial Regex ActionPattern();

    [GeneratedRegex(@"^(if|else|end|range|with|define|template|block|break|continue)\b")]
    private static partial Regex ControlKeyword();

    [GeneratedRegex(@"^\$\w*\s*:?=")]
    private static partial Regex Assignment();

    [GeneratedRegex(@"""(?:[^""\\]|\\.)*""")]
    private static partial Regex StringLiteral();

    [GeneratedRegex(@"^define\s+""([^""]+)""")]
    private static partial Regex DefineName();
}
