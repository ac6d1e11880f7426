using Microscope.Testing;

namespace Microscope.Onnx.Tests.Gradients;

/// <summary>Resize and Upsample, Concat, Split, Slice, Pad and the reshaping ops.</summary>
public sealed class ShapeGradientTests
{
    /// <summary>A Resize of the image by <paramref name="scale"/> along both spatial axes.</summary>
    private static string Resize(TinyModel m, string x, float scale, params (string, object)[] attributes) =>
        m.Op("Resize", [x, "", m.FloatConstant(1, 1, scale, scale)], attributes);

    /// <summary>Two of the three equal parts of a split, or the two parts of a split with sizes, combined.</summary>
    private static string SplitAndCombine(TinyModel m, string x, long[]? sizes)
    {
        var parts = m.Node("Split", sizes is null ? [x] : [x, m.Int64Constant(sizes)], sizes?.Length ?? 3, ("axis", 1L));
        return sizes is null ? m.Concat(1, parts[2], parts[0]) : m.Op("Mul", [parts[0], parts[1]]);
    }

    private static string Slice(TinyModel m, string x, long[] starts, long[] ends, long[]? axes = null) =>
        m.Op("Slice", axes is null ? [x, m.Int64Constant(starts), m.Int64Constant(ends)] : [x, m.Int64Constant(starts), m.Int64Constant(ends), m.Int64Constant(axes)]);

    [Fact]
    public void Resize_nearest_x2_asymmetric_floor() => GradientAssert.Check((m, x) =>
        Resize(m, x, 2, ("mode", "nearest"), ("coordinate_transformation_mode", "asymmetric"), ("nearest_mode", "floor")), height: 5, width: 6);

    [Fact]
    public void Resize_linear_x2_half_pixel() => GradientAssert.Check((m, x) =>
        Resize(m, x, 2, ("mode", "linear"), ("coordinate_transformation_mode", "half_pixel")), height: 5, width: 6);

    [Fact]
    public void Resize_linear_x1_5() => GradientAssert.Check((m, x) => Resize(m, x, 1.5f, ("mode", "linear")));

    [Fact]
    public void Resize_to_sizes_computed_from_the_batch() => GradientAssert.Check((m, x) =>
    {
        var sizes = m.Concat(0, Slice(m, m.Op("Shape", x), [0], [2]), m.Int64Constant([9, 4]));
        return m.Op("Resize", [x, "", "", sizes], ("mode", "linear"), ("coordinate_transformation_mode", "align_corners"));
    });

    [Fact]
    public void Resize_at_opset_10_is_upgraded() =>
        GradientAssert.Check((m, x) => m.Op("Resize", [x, m.FloatConstant(1, 1, 2, 2)], ("mode", "linear")), height: 5, width: 6, opset: 10);

    [Fact]
    public void Upsample_at_opset_9_is_upgraded() =>
        GradientAssert.Check((m, x) => m.Op("Upsample", [x, m.FloatConstant(1, 1, 2, 3)], ("mode", "nearest")), height: 5, width: 4, opset: 9);

    [Fact]
    public void Concat_along_channels() => GradientAssert.Check((m, x) => m.Concat(1, x, m.Relu(m.Spread(x, 2))));

    // Unequal extents along the axis: H rows, then one.
    [Fact]
    public void Concat_along_rows() => GradientAssert.Check((m, x) => m.Concat(2, m.Op("Tanh", x), m.Op("ReduceMean", x, ("axes", new long[] { 2 }))));

    [Fact]
    public void Split_in_three_with_one_part_unused() => GradientAssert.Check((m, x) => SplitAndCombine(m, m.Spread(x, 2), null));

    [Fact]
    public void Split_with_sizes() => GradientAssert.Check((m, x) => SplitAndCombine(m, m.Spread(x, 2), [1, 2]));

    [Fact]
    public void Split_with_sizes_opset_11_attribute() => GradientAssert.Check((m, x) =>
    {
        var parts = m.Node("Split", [m.Spread(x, 2)], 2, ("axis", 1L), ("split", new long[] { 2, 1 }));
        return m.Op("Mul", [parts[0], parts[1]]);
    }, opset: 11);

    [Fact]
    public void Slice_channels_1_to_3() => GradientAssert.Check((m, x) => Slice(m, x, [1], [3], [1]));

    // Columns from −4 to past the end, rows from −5 to −1, axes named negatively too.
    [Fact]
    public void Slice_with_negative_starts_and_axes() => GradientAssert.Check((m, x) => Slice(m, x, [-4, -5], [100, -1], [-1, 2]));

    [Fact]
    public void Slice_spatial() => GradientAssert.Check((m, x) => Slice(m, x, [1, 2], [5, 6], [2, 3]), height: 7, width: 7);

    [Fact]
    public void Slice_without_axes() => GradientAssert.Check((m, x) => Slice(m, x, [0, 1, 1], [2, 3, 5]));

    [Fact]
    public void Slice_opset_9_attributes() => GradientAssert.Check((m, x) =>
        m.Op("Slice", x, ("starts", new long[] { 1, 0 }), ("ends", new long[] { 4, 5 }), ("axes", new long[] { 2, 3 })), opset: 9);

    [Fact]
    public void Pad_constant() => GradientAssert.Check((m, x) =>
        m.Op("Pad", [x, m.Int64Constant([0, 0, 1, 2, 0, 0, 2, 1]), m.Scalar(0.3)], ("mode", "constant")));

    [Fact]
    public void Pad_opset_9_attributes() => GradientAssert.Check((m, x) =>
        m.Op("Pad", x, ("mode", "constant"), ("pads", new long[] { 0, 0, 1, 2, 0, 0, 2, 1 }), ("value", 0.3)), opset: 9);

    // Rows padded 2 before and 1 after, columns 1 and 3 (reflect needs pads below the size).
    [Theory]
    [InlineData("reflect")]
    [InlineData("edge")]
    public void Pad_mode(string mode) => GradientAssert.Check((m, x) =>
        m.Op("Pad", [m.Spread(x, 2), m.Int64Constant([0, 0, 2, 1, 0, 0, 1, 3])], ("mode", mode)));

    [Fact]
    public void Pad_wrap_opset_19() => GradientAssert.Check((m, x) =>
        m.Op("Pad", [m.Spread(x, 2), m.Int64Constant([0, 0, 2, 1, 0, 0, 1, 3])], ("mode", "wrap")), opset: 19);

    [Fact]
    public void Pad_reflect_at_opset_9_is_upgraded() => GradientAssert.Check((m, x) =>
        m.Op("Pad", m.Spread(x, 2), ("mode", "reflect"), ("pads", new long[] { 0, 0, 1, 2, 0, 0, 2, 1 })), opset: 9);

    // Negative pads crop: rows lose one at the start, columns gain two at the end.
    [Fact]
    public void Pad_constant_with_a_negative_pad() => GradientAssert.Check((m, x) =>
        m.Op("Pad", [m.Spread(x, 2), m.Int64Constant([0, 0, -1, 0, 0, 0, 1, 2]), m.Scalar(0.3)]));

    // Opset 18: pads given for the named axes only (columns, then rows).
    [Theory]
    [InlineData("constant")]
    [InlineData("reflect")]
    public void Pad_selected_axes_opset_18(string mode) => GradientAssert.Check((m, x) =>
        m.Op("Pad", [m.Spread(x, 2), m.Int64Constant([1, 2, 3, 0]), "", m.Int64Constant([-1, 2])], ("mode", mode)), opset: 18);

    // Pads computed at run time (from the batch size: 1 row and 2 columns per image of the probe's batch of two).
    [Fact]
    public void Pad_edge_with_pads_computed_at_run_time() => GradientAssert.Check((m, x) =>
    {
        var batch = m.Op("Slice", [m.Op("Shape", x), m.Int64Constant([0]), m.Int64Constant([1])]);
        var pads = m.Op("Mul", [m.Int64Constant([0, 0, 0, 1, 0, 0, 1, 0]), batch]);
        return m.Op("Pad", [m.Spread(x, 2), pads], ("mode", "edge"));
    });

    [Fact]
    public void Tile_channels_and_columns() => GradientAssert.Check((m, x) => m.Op("Tile", [m.Spread(x, 2), m.Int64Constant([1, 2, 1, 3])]));

    // The tiled tensor is itself broadcast-shaped ([N,1,H,W]); its copies add up.
    [Fact]
    public void Tile_of_a_channel_mean() => GradientAssert.Check((m, x) =>
        m.Op("Tile", [m.Op("ReduceMean", m.Op("Mul", [x, x]), ("axes", new long[] { 1 })), m.Int64Constant([1, 3, 2, 1])]));

    [Fact]
    public void Reshape_across_channels() => GradientAssert.Check((m, x) => m.Op("Reshape", [x, m.Int64Constant([0, 9, -1])]));

    [Fact]
    public void Flatten() => GradientAssert.Check((m, x) => m.Op("Flatten", x, ("axis", 1L)));

    [Theory]
    [InlineData(11L)]
    [InlineData(17L)]
    public void Squeeze(long opset) => GradientAssert.Check((m, x) =>
    {
        var pooled = m.Op("ReduceMean", m.Op("Mul", [x, x]), ("axes", new long[] { 2, 3 }));
        return opset < 13 ? m.Op("Squeeze", pooled, ("axes", new long[] { 2, 3 })) : m.Op("Squeeze", [pooled, m.Int64Constant([2, 3])]);
    }, opset: opset);

    [Theory]
    [InlineData(11L)]
    [InlineData(17L)]
    public void Unsqueeze(long opset) => GradientAssert.Check((m, x) =>
        opset < 13 ? m.Op("Unsqueeze", x, ("axes", new long[] { 2 })) : m.Op("Unsqueeze", [x, m.Int64Constant([2])]), opset: opset);

    // Not an involution: the inverse permutation is [0, 3, 1, 2].
    [Fact]
    public void Transpose_to_channels_last() => GradientAssert.Check((m, x) => m.Op("Transpose", x, ("perm", new long[] { 0, 2, 3, 1 })));
}
