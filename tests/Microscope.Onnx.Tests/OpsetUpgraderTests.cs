using Microscope.Onnx;
using Microscope.Onnx.Proto;
using Microscope.Testing;
using Microsoft.ML.OnnxRuntime;

namespace Microscope.Onnx.Tests;

/// <summary>
/// The upgrader must not change what a model computes: each old-opset model and its opset-17
/// rewrite run on ONNX Runtime on the same input and must agree.
/// </summary>
public sealed class OpsetUpgraderTests
{
    private static float[] Run(ModelProto model, float[] input, long[] shape)
    {
        using var session = new InferenceSession(OnnxModelFile.ToBytes(model));
        using var value = OrtValue.CreateTensorValueFromMemory(input, shape);
        using var results = session.Run(new RunOptions(), ["x"], [value], [model.Graph.Output[0].Name]);
        return results[0].GetTensorDataAsSpan<float>().ToArray();
    }

    private static void AssertSameResults(long opset, Func<TinyModel, string, string> body, long[]? shape = null)
    {
        shape ??= [2, 3, 4, 6];
        var m = new TinyModel(opset);
        var x = m.Input("x", shape);
        m.Output(body(m, x));
        var original = m.Build();
        var random = new Random(2);
        var input = Enumerable.Range(0, (int)shape.Aggregate(1L, (a, b) => a * b)).Select(_ => (float)((random.NextDouble() * 4) - 2)).ToArray();

        var upgraded = OpsetUpgrader.Upgrade(original, "test");

        Assert.Equal(OpsetUpgrader.TargetOpset, new OnnxGraph(upgraded).OpsetVersion);
        var expected = Run(original, input, shape);
        var actual = Run(upgraded, input, shape);
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], actual[i], 5);
        }
    }

    [Fact]
    public void Softmax_on_4d_keeps_its_flattening_semantics() =>
        AssertSameResults(11, (m, x) => m.Op("Softmax", x, ("axis", 1L)));

    [Fact]
    public void LogSoftmax_with_the_default_axis() => AssertSameResults(9, (m, x) => m.Op("LogSoftmax", x));

    [Fact]
    public void Upsample_with_scales_attribute() =>
        AssertSameResults(7, (m, x) => m.Op("Upsample", x, ("scales", new double[] { 1, 1, 2, 2 }), ("mode", "nearest")));

    [Fact]
    public void Upsample_with_scales_input() =>
        AssertSameResults(9, (m, x) => m.Op("Upsample", [x, m.Constant([4], [1, 1, 2, 3])], ("mode", "nearest")));

    [Fact]
    public void Resize_at_opset_10() =>
        AssertSameResults(10, (m, x) => m.Op("Resize", [x, m.Constant([4], [1, 1, 2, 2])], ("mode", "nearest")));

    [Fact]
    public void Slice_with_attributes() =>
        AssertSameResults(9, (m, x) => m.Op("Slice", x, ("starts", new long[] { 1, -3 }), ("ends", new long[] { 3, 100 }), ("axes", new long[] { 1, 3 })));

    [Fact]
    public void Pad_with_attributes() =>
        AssertSameResults(9, (m, x) => m.Op("Pad", x, ("pads", new long[] { 0, 0, 1, 2, 0, 0, 2, 1 }), ("value", 0.5)));

    [Fact]
    public void Clip_with_attributes() => AssertSameResults(9, (m, x) => m.Op("Clip", x, ("min", -0.5), ("max", 1.0)));

    [Fact]
    public void Split_with_sizes() =>
        AssertSameResults(11, (m, x) =>
        {
            var parts = m.Node("Split", [x], 2, ("axis", 3L), ("split", new long[] { 2, 4 }));
            return m.Op("Mul", [parts[0], m.Op("ReduceSum", parts[1], ("axes", new long[] { 3 }), ("keepdims", 1L))]);
        });

    [Fact]
    public void Squeeze_and_unsqueeze_with_axes_attributes() =>
        AssertSameResults(11, (m, x) => m.Op("Squeeze", m.Op("Unsqueeze", x, ("axes", new long[] { 0 })), ("axes", new long[] { 0 })));

    [Fact]
    public void BatchNormalization_with_spatial_and_dropout() =>
        AssertSameResults(7, (m, x) => m.Op("Dropout", m.Op("BatchNormalization", [x, m.Random([3]), m.Random([3]), m.Random([3]), m.Constant([3], [1, 2, 3])], ("spatial", 1L), ("epsilon", 1e-3)), ("ratio", 0.5)));

    [Fact]
    public void A_model_older_than_opset_7_is_refused()
    {
        var m = new TinyModel(6);
        var x = m.Input("x", 1, 3, 4, 4);
        m.Output(m.Relu(x));
        var error = Assert.Throws<ModelFormatException>(() => OpsetUpgrader.Upgrade(m.Build(), "old.onnx"));
        Assert.Contains("opset 6", error.Message);
    }
}
