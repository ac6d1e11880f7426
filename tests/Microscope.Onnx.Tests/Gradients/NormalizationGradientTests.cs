namespace Microscope.Onnx.Tests.Gradients;

/// <summary>BatchNormalization with the model's statistics, InstanceNormalization and LayerNormalization.</summary>
public sealed class NormalizationGradientTests
{
    [Fact]
    public void BatchNormalization_with_constant_statistics() => GradientAssert.Check((m, x) =>
        m.Op("BatchNormalization", [x, m.Constant([3], [1.5, -0.7, 0.9]), m.Random([3]), m.Random([3]), m.Constant([3], [0.5, 1.2, 0.02])], ("epsilon", 1e-2)));

    [Fact]
    public void InstanceNormalization() => GradientAssert.Check((m, x) =>
        m.Op("InstanceNormalization", [m.Spread(x, 2), m.Constant([3], [1.5, -0.7, 0.9]), m.Random([3])], ("epsilon", 1e-3)));

    // Scale and bias have the normalized axes' shape: [W] for axis −1, [3,H,W] for axis 1.
    [Theory]
    [InlineData(-1L)]
    [InlineData(1L)]
    public void LayerNormalization(long axis) => GradientAssert.Check((m, x) =>
    {
        long[] normalized = axis == -1 ? [5] : [3, 4, 5];
        return m.Op("LayerNormalization", [m.Spread(x, 2), m.Random(normalized, 1.5), m.Random(normalized)], ("axis", axis), ("epsilon", 1e-3));
    }, height: 4, width: 5);
}
