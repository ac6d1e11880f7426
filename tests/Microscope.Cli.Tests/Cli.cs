namespace Microscope.Cli.Tests;

/// <summary>Runs `microscope` in-process and keeps what it wrote.</summary>
internal sealed record CliRun(int ExitCode, string Output, string Error)
{
    public static CliRun Of(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = CliApp.Run(args, output, error);
        return new CliRun(code, output.ToString(), error.ToString());
    }

    /// <summary>Bad input: exit 2, nothing on stdout, exactly one error line, no stack trace.</summary>
    public void AssertBadInput(params string[] mentions)
    {
        Assert.Equal(CliApp.BadInput, ExitCode);
        Assert.Equal("", Output);
        var lines = Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var line = Assert.Single(lines, l => l.StartsWith("error: ", StringComparison.Ordinal));
        Assert.DoesNotContain("   at ", Error);
        Assert.DoesNotContain("Exception", Error);
        foreach (var mention in mentions)
        {
            Assert.Contains(mention, line);
        }
    }
}
