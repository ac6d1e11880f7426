using System.Text.RegularExpressions;

namespace Microscope.Cli.Tests.Docs;

/// <summary>One shell example of the docs: where it is, its code, and why it is not run here (null: it is run).</summary>
internal sealed record DocExample(string File, int Line, string Code, string? NotRunnable)
{
    public override string ToString() => $"{File}:{Line}";
}

/// <summary>
/// The shell examples of README.md and docs/*.md, by the convention README.md states ("Docs that
/// run"): every fenced block whose info string is <c>bash</c> or
/// <c>sh</c> is runnable, unless the line before its fence is
/// <c>&lt;!-- not runnable here: REASON --&gt;</c> (GPUs, Kubernetes, containers, processes that
/// run until stopped). Blocks inside list items are dedented by their fence's indentation.
/// </summary>
internal static partial class DocExamples
{
    [GeneratedRegex(@"^(?<indent>\s*)```(?<info>[^\s`]*)\s*$")]
    private static partial Regex Fence();

    [GeneratedRegex(@"^\s*<!--\s*not runnable here:\s*(?<reason>.+?)\s*-->\s*$")]
    private static partial Regex NotRunnable();

    public static IEnumerable<DocExample> Extract(string file, string text)
    {
        var lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            if (Fence().Match(lines[i]) is not { Success: true } open)
            {
                continue;
            }

            var indent = open.Groups["indent"].Value.Length;
            var end = i + 1;
            while (end < lines.Length && !(Fence().Match(lines[end]) is { Success: true } close && close.Groups["info"].Value.Length == 0))
            {
                end++;
            }

            if (open.Groups["info"].Value is "bash" or "sh")
            {
                var before = Enumerable.Range(0, i).Reverse().Select(j => lines[j]).FirstOrDefault(l => l.Trim().Length > 0) ?? "";
                var reason = NotRunnable().Match(before) is { Success: true } m ? m.Groups["reason"].Value : null;
                var code = string.Join('\n', lines[(i + 1)..end].Select(l => l.Length >= indent && l[..indent].Trim().Length == 0 ? l[indent..] : l.TrimStart()));
                yield return new DocExample(file, i + 1, code, reason);
            }

            i = end;
        }
    }
}
