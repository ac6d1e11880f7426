namespace Microscope.Onnx.Tests.Gradients;

/// <summary>Average and max pooling with their padding, ceil and dilation variants, and LRN.</summary>
public sealed class PoolingGradientTests
{
    private static readonly long[] Kernel3 = [3, 3];
    private static readonly long[] Stride2 = [2, 2];
    private static readonly long[] Pads1 = [1, 1, 1, 1];

    private static void CheckPool(string op, int height, int width, params (string, object)[] attributes) =>
        GradientAssert.Check((m, x) => m.Op(op, x, attributes), height: height, width: width);

    [Fact]
    public void GlobalAveragePool() => GradientAssert.Check((m, x) => m.Op("GlobalAveragePool", x), height: 5, width: 7);

    [Fact]
    public void GlobalMaxPool() => GradientAssert.Check((m, x) => m.Op("GlobalMaxPool", m.Spread(x, 2)), height: 5, width: 7);

    [Theory]
    [InlineData(0L)]
    [InlineData(1L)]
    public void AveragePool_3x3_stride_2_pads_1(long countIncludePad) =>
        CheckPool("AveragePool", 7, 8, ("kernel_shape", Kernel3), ("strides", Stride2), ("pads", Pads1), ("count_include_pad", countIncludePad));

    // 6 → ceil((6 + 2·pad − 3) / 2) + 1 windows: 3 without padding, 4 with; the last reaches past the end padding.
    [Theory]
    [InlineData(0L, 0L)]
    [InlineData(0L, 1L)]
    [InlineData(1L, 1L)]
    public void AveragePool_ceil_mode(long countIncludePad, long pad) =>
        CheckPool("AveragePool", 6, 6, ("kernel_shape", Kernel3), ("strides", Stride2), ("pads", new long[] { pad, pad, pad, pad }),
            ("ceil_mode", 1L), ("count_include_pad", countIncludePad));

    // Height 7 pads 1 and 1, width 8 pads 0 and 1.
    [Theory]
    [InlineData(0L, 0L)]
    [InlineData(1L, 1L)]
    public void AveragePool_same_upper(long countIncludePad, long ceilMode) =>
        CheckPool("AveragePool", 7, 8, ("kernel_shape", Kernel3), ("strides", Stride2), ("auto_pad", "SAME_UPPER"),
            ("count_include_pad", countIncludePad), ("ceil_mode", ceilMode));

    [Fact]
    public void MaxPool_3x3_stride_2_pads_1_overlapping_windows() =>
        CheckPool("MaxPool", 7, 8, ("kernel_shape", Kernel3), ("strides", Stride2), ("pads", Pads1));

    [Fact]
    public void MaxPool_2x2_stride_2() => CheckPool("MaxPool", 6, 6, ("kernel_shape", new long[] { 2, 2 }), ("strides", Stride2));

    [Fact]
    public void MaxPool_ceil_mode() => CheckPool("MaxPool", 6, 7, ("kernel_shape", Kernel3), ("strides", Stride2), ("ceil_mode", 1L));

    [Fact]
    public void MaxPool_dilated() => CheckPool("MaxPool", 8, 8, ("kernel_shape", Kernel3), ("dilations", Stride2), ("pads", Pads1));

    [Fact]
    public void MaxPool_same_upper() => CheckPool("MaxPool", 7, 8, ("kernel_shape", Kernel3), ("strides", Stride2), ("auto_pad", "SAME_UPPER"));

    // alpha large enough that the cross-channel term matters. An even size (an asymmetric window) cannot
    // be checked: ONNX Runtime refuses to load an LRN whose size is even.
    [Fact]
    public void LRN() => CheckPool("LRN", 6, 6, ("size", 3L), ("alpha", 2.0), ("beta", 0.75), ("bias", 1.0));
}
