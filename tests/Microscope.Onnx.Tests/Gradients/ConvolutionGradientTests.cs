using Microscope.Testing;

namespace Microscope.Onnx.Tests.Gradients;

public sealed class ConvolutionGradientTests
{
    private static string Conv(TinyModel m, string x, int outChannels, long[] kernel, params (string, object)[] attributes)
    {
        var group = attributes.Where(a => a.Item1 == "group").Select(a => Convert.ToInt64(a.Item2, System.Globalization.CultureInfo.InvariantCulture)).DefaultIfEmpty(1).First();
        var w = m.Random([outChannels, 3 / group, .. kernel]);
        return m.Op("Conv", [x, w, m.Random([outChannels], 0.1)], [("kernel_shape", kernel), .. attributes]);
    }

    [Fact]
    public void Conv_3x3_same_padding() => GradientAssert.Check((m, x) => Conv(m, x, 4, [3, 3], ("pads", new long[] { 1, 1, 1, 1 })));

    [Fact]
    public void Conv_strided_with_asymmetric_pads_on_a_non_square_image() =>
        GradientAssert.Check((m, x) => Conv(m, x, 2, [3, 3], ("strides", new long[] { 2, 2 }), ("pads", new long[] { 0, 1, 2, 0 })), height: 7, width: 9);

    [Fact]
    public void Conv_dilated() => GradientAssert.Check((m, x) => Conv(m, x, 2, [3, 3], ("dilations", new long[] { 2, 2 }), ("pads", new long[] { 2, 2, 2, 2 })), height: 8, width: 8);

    [Fact]
    public void Conv_depthwise() => GradientAssert.Check((m, x) => Conv(m, x, 3, [3, 3], ("group", 3L), ("pads", new long[] { 1, 1, 1, 1 })));

    [Theory]
    [InlineData("SAME_UPPER", 7)]
    [InlineData("SAME_LOWER", 7)]
    [InlineData("SAME_UPPER", 8)]
    [InlineData("VALID", 7)]
    public void Conv_auto_pad(string autoPad, int size) =>
        GradientAssert.Check((m, x) => Conv(m, x, 2, [3, 3], ("strides", new long[] { 2, 2 }), ("auto_pad", autoPad)), height: size, width: size);

    [Fact]
    public void Conv_5x5_stride_3_leaves_rows_unread() =>
        GradientAssert.Check((m, x) => Conv(m, x, 2, [5, 5], ("strides", new long[] { 3, 3 })), height: 10, width: 11);

    [Fact]
    public void ConvTranspose_strided_with_output_padding() =>
        GradientAssert.Check((m, x) => m.Op("ConvTranspose", [x, m.Random([3, 2, 3, 3])],
            ("kernel_shape", new long[] { 3, 3 }), ("strides", new long[] { 2, 2 }), ("pads", new long[] { 1, 1, 1, 1 }), ("output_padding", new long[] { 1, 1 })));

    [Fact]
    public void ConvTranspose_grouped_2x2_stride_2() =>
        GradientAssert.Check((m, x) => m.Op("ConvTranspose", [x, m.Random([3, 1, 2, 2])], ("strides", new long[] { 2, 2 }), ("group", 3L)));
}
