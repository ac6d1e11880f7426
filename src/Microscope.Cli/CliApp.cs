using System.CommandLine;
using Microscope.Cli.Commands;
using Microscope.Inference;
using Microscope.Onnx;
using Spectre.Console;

namespace Microscope.Cli;

/// <summary>
/// The `microscope` command line. Exit codes: 0 success, 1 a check that ran and failed
/// (gradcheck above tolerance), 2 bad input (unknown model or layer, malformed file, bad options).
/// Errors are one line on stderr, never a stack trace.
/// </summary>
public static class CliApp
{
    public const int Ok = 0;
    public const int CheckFailed = 1;
    public const int BadInput = 2;

    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = output == Console.Out && !Console.IsOutputRedirected ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = output == Console.Out && !Console.IsOutputRedirected ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = output == Console.Out && !Console.IsOutputRedirected ? InteractionSupport.Detect : InteractionSupport.No,
        });
        var context = new CliContext(console, output, error);

        var root = new RootCommand("microscope: look inside any ONNX vision model, unit by unit.");
        root.Subcommands.Add(ModelsCommand.Create(context));
        root.Subcommands.Add(GradcheckCommand.Create(context));
        root.Subcommands.Add(RenderCommand.Create(context));

        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            // One line even when a typo makes several errors ("models frob": no command, and 'frob' unknown).
            error.WriteLine($"error: {string.Join(" ", parsed.Errors.Select(e => e.Message).Distinct())}");
            error.WriteLine("Run 'microscope --help' for usage.");
            return BadInput;
        }

        try
        {
            return parsed.Invoke(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
        }
        catch (ModelFormatException ex)
        {
            error.WriteLine($"error: {ex.Message}");
            return BadInput;
        }
        catch (DeviceUnavailableException ex)
        {
            error.WriteLine($"error: {ex.Message}");
            return BadInput;
        }
        catch (Farm.Rendering.RenderInputException ex)
        {
            // A lens asked of a layer or a folder it cannot render (the weights of a layer after a nonlinearity).
            error.WriteLine($"error: {ex.Message}");
            return BadInput;
        }
    }
}

/// <summary>What every command writes to.</summary>
public sealed record CliContext(IAnsiConsole Console, TextWriter Output, TextWriter Error);
