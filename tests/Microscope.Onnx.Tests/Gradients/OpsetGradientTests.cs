using Microscope.Testing;

namespace Microscope.Onnx.Tests.Gradients;

/// <summary>One small network exported at each opset from the oldest supported to the newest: the upgrade to opset 17 keeps its gradient.</summary>
public sealed class OpsetGradientTests
{
    /// <summary>Conv, BatchNormalization, Relu, MaxPool, a residual Add, GlobalAveragePool, Flatten and Gemm.</summary>
    private static string SmallNetwork(TinyModel m, string x)
    {
        var conv = m.Conv(x, 3, 4);
        var normalized = m.Op("BatchNormalization", [conv, m.Constant([4], [1.5, -0.7, 0.9, 1.1]), m.Random([4]), m.Random([4]), m.Constant([4], [0.5, 1.2, 0.8, 2])]);
        var pooled = m.MaxPool(m.Relu(normalized));
        var residual = m.Add(pooled, m.Conv(pooled, 4, 4));
        var features = m.Op("Flatten", m.Op("GlobalAveragePool", residual), ("axis", 1L));
        return m.Op("Gemm", [features, m.Random([5, 4]), m.Random([5], 0.1)], ("transB", 1L));
    }

    // 6×6 (pooled to 3×3): at 8×8 a ReLU or max-pool kink of this seeded network lies within a step of
    // 1e-3 along the check directions, which leaves only the step of 1e-4, where float32 round-off
    // alone gives errors of 5e-4. Here the step of 1e-3 crosses no kink (errors about 1e-5).
    [Theory]
    [InlineData(7L)]
    [InlineData(9L)]
    [InlineData(11L)]
    [InlineData(13L)]
    [InlineData(17L)]
    [InlineData(21L)]
    public void Small_network_at_opset(long opset) => GradientAssert.Check(SmallNetwork, opset: opset);
}
