using Microscope.Testing;

namespace Microscope.Cli.Tests;

public sealed class GradcheckCommandTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("microscope-gradcheck-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    /// <summary>
    /// A conv and ReLU whose unit 0 is dead on any image (weights −1, bias −100), unit 1 faint and
    /// unit 2 the most active: without --unit the check is on unit 2 and says so; with --unit 0 it
    /// keeps today's behaviour (nothing to check, exit 1).
    /// </summary>
    [Fact]
    public void Without_unit_the_most_active_unit_is_checked_and_named()
    {
        var m = new TinyModel();
        var x = m.Input("x", -1, 3, 16, 16);
        double[] weights = [.. Enumerable.Repeat(-1.0, 27), .. Enumerable.Repeat(0.01, 27), .. Enumerable.Repeat(0.05, 27)];
        var conv = m.Op("Conv", [x, m.Constant([3, 3, 3, 3], weights), m.Constant([3], [-100, 0, 1])],
            ("kernel_shape", new long[] { 3, 3 }), ("pads", new long[] { 1, 1, 1, 1 }));
        var relu = m.Relu(conv);
        m.Output(relu, -1, 3, 16, 16);
        var path = m.Save(Path.Combine(folder, "dead-unit.onnx"));
        var layer = m.Build().Graph.Node.Single(n => n.OpType == "Relu").Name;

        var run = CliRun.Of("gradcheck", path, "--layer", layer, "--size", "16", "--directions", "2");
        Assert.Equal(0, run.ExitCode);
        Assert.Contains("unit 2: the most active of the layer's 3 units", run.Output);
        Assert.StartsWith("max relative error: ", run.Output.TrimEnd().Split('\n')[^1]);

        var dead = CliRun.Of("gradcheck", path, "--layer", layer, "--size", "16", "--directions", "2", "--unit", "0");
        Assert.Equal(1, dead.ExitCode);
        Assert.Contains("unit 0 of layer", dead.Error);
        Assert.DoesNotContain("most active", dead.Output);
    }

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
    public void The_readme_example_at_128_px_passes()
    {
        // README.md and docs/gradients.md: at 128 px a step of 1e-5 crosses enough ReLU kinks to miss by 1.7e-2.
        var run = CliRun.Of("gradcheck", "resnet18", "--layer", "layer3.1.relu", "--unit", "7", "--objective", "channel", "--size", "128", "--directions", "1");

        Assert.True(run.ExitCode == 0, run.Output + run.Error);
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
