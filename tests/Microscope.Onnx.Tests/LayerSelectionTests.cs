using Microscope.Testing;

namespace Microscope.Onnx.Tests;

public sealed class LayerSelectionTests
{
    private static List<string> CandidateOps(TinyModel m) =>
        LayerSelection.Candidates(new OnnxGraph(m.Build())).Select(c => c.Node.OpType).ToList();

    [Fact]
    public void Conv_batchnorm_relu_shows_once_as_the_relu()
    {
        var m = new TinyModel();
        var x = m.Input("x", 1, 3, 8, 8);
        var conv = m.Conv(x, 3, 4);
        var bn = m.Op("BatchNormalization", [conv, m.Random([4]), m.Random([4]), m.Random([4]), m.Constant([4], [1, 1, 1, 1])]);
        var relu = m.Relu(bn);
        m.Output(m.Op("GlobalAveragePool", relu));

        Assert.Equal(["Relu", "GlobalAveragePool"], CandidateOps(m));
    }

    [Fact]
    public void Batchnorm_before_a_residual_add_is_a_layer()
    {
        var m = new TinyModel();
        var x = m.Input("x", 1, 4, 8, 8);
        var conv = m.Conv(x, 4, 4);
        var bn = m.Op("BatchNormalization", [conv, m.Random([4]), m.Random([4]), m.Random([4]), m.Constant([4], [1, 1, 1, 1])]);
        var add = m.Add(bn, x);
        m.Output(m.Relu(add));

        Assert.Equal(["BatchNormalization", "Relu"], CandidateOps(m));
    }

    [Fact]
    public void A_written_out_hard_swish_shows_once_as_its_product()
    {
        var m = new TinyModel();
        var x = m.Input("x", 1, 3, 8, 8);
        var conv = m.Conv(x, 3, 4);
        var shifted = m.Op("Add", [conv, m.Constant([1], [3])]);
        var clipped = m.Op("Clip", [shifted, m.Constant([], [0]), m.Constant([], [6])]);
        var scaled = m.Op("Div", [clipped, m.Constant([1], [6])]);
        var hswish = m.Op("Mul", [conv, scaled]);
        m.Output(m.Conv(hswish, 4, 2));

        Assert.Equal(["Mul", "Conv"], CandidateOps(m));
    }

    [Fact]
    public void Class_scores_show_as_the_biased_matmul_and_the_softmax()
    {
        var m = new TinyModel();
        var x = m.Input("x", 1, 4, 4, 4);
        var gap = m.Op("GlobalAveragePool", m.Relu(m.Conv(x, 4, 4)));
        var flat = m.Op("Flatten", gap, ("axis", 1L));
        var logits = m.Op("Add", [m.Op("MatMul", [flat, m.Random([4, 3])]), m.Random([3])]);
        m.Output(m.Op("Softmax", logits, ("axis", 1L)));

        Assert.Equal(["Relu", "GlobalAveragePool", "Add", "Softmax"], CandidateOps(m));
    }

    [Fact]
    public void Shape_arithmetic_is_never_a_layer()
    {
        var m = new TinyModel();
        var x = m.Input("x", 1, 3, 8, 8);
        var shape = m.Op("Shape", x);
        var relu = m.Relu(m.Conv(x, 3, 4));
        var reshaped = m.Op("Reshape", [relu, m.Op("Concat", [m.Op("Slice", [shape, m.Int64Constant([0]), m.Int64Constant([1])]), m.Int64Constant([-1])], ("axis", 0L))]);
        m.Output(reshaped);

        // The Concat of shapes is a candidate structurally; the probe run drops it (not a float tensor).
        Assert.Contains("Relu", CandidateOps(m));
        Assert.DoesNotContain("Shape", CandidateOps(m));
        Assert.DoesNotContain("Reshape", CandidateOps(m));
    }

    [Fact]
    public void A_squeeze_excitation_gate_is_dropped_after_the_probe()
    {
        var m = new TinyModel();
        var x = m.Input("x", 1, 4, 8, 8);
        var features = m.Relu(m.Conv(x, 4, 4));
        var gate = m.Op("Sigmoid", m.Conv(m.Relu(m.Conv(m.Op("GlobalAveragePool", features), 4, 2, kernel: 1, pad: 0)), 2, 4, kernel: 1, pad: 0));
        m.Output(m.Op("Mul", [features, gate]));
        var graph = new OnnxGraph(m.Build());

        var kept = LayerSelection.Candidates(graph)
            .Where(c => LayerSelection.KeepAfterProbe(graph, c, c.Tensor == features || c.Node.OpType == "Mul" ? [1, 4, 8, 8] : [1, 4, 1, 1]))
            .Select(c => c.Node.OpType)
            .ToList();

        Assert.Equal(["Relu", "Mul"], kept);
    }
}
