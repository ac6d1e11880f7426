namespace Microscope.Cli.Tests;

public sealed class GradcheckCommandTests
{
    [Fact]
    public void Gradcheck_passes_on_a_resnet18_layer_and_ends_with_the_error_line()
    {
        var run = CliRun.Of("gradcheck", "resnet18", "--layer", "layer2.0.relu", "--unit", "3", "--size", "64", "--directions", "2");

        Assert.Equal(0, run.ExitCode);
        var last = run.Output.TrimEnd().Split('\n')[^1];
        Assert.StartsWith("max relative error: ", last);
        var error = double.Parse(last["max relative error: ".Length..], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(error, 0, 1e-2);
    }

    [Fact]
    public void Gradcheck_fails_with_exit_1_above_the_tolerance()
    {
        // No float32 finite difference agrees to 1e-12: the check runs and reports failure.
        var run = CliRun.Of("gradcheck", "resnet18", "--layer", "layer1.0.relu1", "--size", "32", "--directions", "1", "--tolerance", "1e-12");
        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith("max relative error: ", run.Output.TrimEnd().Split('\n')[^1]);
    }

    [Fact]
    public void An_unknown_layer_lists_close_matches() =>
        CliRun.Of("gradcheck", "resnet18", "--layer", "layer2.0.relux").AssertBadInput("layer2.0.relux", "close matches", "layer2.0.relu");

    [Fact]
    public void A_unit_out_of_range_is_bad_input() =>
        CliRun.Of("gradcheck", "resnet18", "--layer", "conv1", "--unit", "64").AssertBadInput("64 units");
}
