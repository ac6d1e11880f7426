using System.Text.Json;
using System.Text.RegularExpressions;
using Microscope.Testing;

namespace Microscope.Farm.Deploy.Tests.Images;

/// <summary>
/// A Dockerfile read the way the builder reads it, as far as these tests need: stages, and for each
/// its instructions (continuation lines joined, comments dropped); the final stage's ENV, WORKDIR,
/// USER, EXPOSE, HEALTHCHECK and ENTRYPOINT/CMD, which are what a container of the image starts with.
/// </summary>
internal sealed partial class Dockerfile
{
    private Dockerfile(string path, IReadOnlyList<Stage> stages)
    {
        Path = path;
        Stages = stages;
    }

    public string Path { get; }

    public IReadOnlyList<Stage> Stages { get; }

    public Stage Final => Stages[^1];

    public static Dockerfile Load(string relative)
    {
        var path = System.IO.Path.Combine(RepositoryRoot.Path, relative);
        var stages = new List<Stage>();
        foreach (var (instruction, arguments) in Instructions(File.ReadAllLines(path)))
        {
            if (instruction == "FROM")
            {
                var words = arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                stages.Add(new Stage(words[0], words.Length >= 3 && words[^2].Equals("AS", StringComparison.OrdinalIgnoreCase) ? words[^1] : null, []));
            }
            else
            {
                Assert.True(stages.Count > 0, $"{relative}: {instruction} before FROM");
                stages[^1].Instructions.Add((instruction, arguments));
            }
        }

        return new Dockerfile(relative, stages);
    }

    /// <summary>One logical instruction per item: continuation lines joined, comment lines (and parser directives) left out.</summary>
    private static IEnumerable<(string Instruction, string Arguments)> Instructions(IEnumerable<string> lines)
    {
        var current = "";
        foreach (var raw in lines)
        {
            var line = raw.Trim();
            if (line.StartsWith('#') || (line.Length == 0 && current.Length == 0))
            {
                continue;
            }

            var continues = line.EndsWith('\\');
            current += (current.Length > 0 ? " " : "") + (continues ? line[..^1].TrimEnd() : line);
            if (!continues && current.Length > 0)
            {
                var space = current.IndexOf(' ', StringComparison.Ordinal);
                yield return (current[..space].ToUpperInvariant(), current[(space + 1)..].Trim());
                current = "";
            }
        }
    }

    public sealed record Stage(string From, string? Name, List<(string Instruction, string Arguments)> Instructions)
    {
        public IEnumerable<string> All(string instruction) =>
            Instructions.Where(i => i.Instruction == instruction).Select(i => i.Arguments);

        public string? Last(string instruction) => All(instruction).LastOrDefault();

        /// <summary>The stage's environment in order (a later ENV of a key wins); both ENV forms.</summary>
        public IReadOnlyDictionary<string, string> Environment
        {
            get
            {
                var environment = new Dictionary<string, string>(StringComparer.Ordinal);
                foreach (var arguments in All("ENV"))
                {
                    var words = Words(arguments);
                    if (!words[0].Contains('=', StringComparison.Ordinal))
                    {
                        environment[words[0]] = string.Join(' ', words.Skip(1));
                        continue;
                    }

                    foreach (var word in words)
                    {
                        var equals = word.IndexOf('=', StringComparison.Ordinal);
                        environment[word[..equals]] = word[(equals + 1)..];
                    }
                }

                return environment;
            }
        }

        public IReadOnlyList<string> Entrypoint => ExecForm("ENTRYPOINT");

        public IReadOnlyList<string> Cmd => ExecForm("CMD");

        public IReadOnlyList<int> Exposed =>
            [.. All("EXPOSE").SelectMany(a => a.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Select(p => int.Parse(p.Split('/')[0], System.Globalization.CultureInfo.InvariantCulture))];

        /// <summary>The address the HEALTHCHECK's command asks.</summary>
        public Uri HealthcheckUrl =>
            Url().Match(Last("HEALTHCHECK") ?? "") is { Success: true } match ? new Uri(match.Value) : throw new InvalidOperationException("no HEALTHCHECK with a URL");

        private IReadOnlyList<string> ExecForm(string instruction) =>
            Last(instruction) is { } value ? JsonSerializer.Deserialize<string[]>(value) ?? [] : [];
    }

    /// <summary>Words split at spaces, double-quoted spans kept whole (quotes removed).</summary>
    private static List<string> Words(string text)
    {
        var words = new List<string>();
        var word = new System.Text.StringBuilder();
        var quoted = false;
        foreach (var c in text)
        {
            if (c == '"')
            {
                quoted = !quoted;
            }
            else if (c == ' ' && !quoted)
            {
                if (word.Length > 0)
                {
                    words.Add(word.ToString());
                    word.Clear();
                }
            }
            else
            {
                word.Append(c);
            }
        }

        if (word.Length > 0)
        {
            words.Add(word.ToString());
        }

        return words;
    }

    [GeneratedRegex(@"https?://[^\s""',\]]+")]
    private static partial Regex Url();
}
