using Microscope.Testing;

namespace Microscope.Onnx.Tests.Gradients;

/// <summary>Gather (any axis; scalar, tensor, negative and repeated indices) and GatherElements.</summary>
public sealed class IndexingGradientTests
{
    private const int Size = 6;

    private static string Gather(TinyModel m, string x, long axis, long[] dims, long[] indices) =>
        m.Op("Gather", [x, m.Int64(dims, indices)], ("axis", axis));

    // x[:, 1]: the rank drops by one, as torchvision's qkv[i] and x[:, 0] (the class token) export.
    [Fact]
    public void Gather_a_scalar_index_on_the_channel_axis() => GradientAssert.Check((m, x) => Gather(m, m.Spread(x, 2), 1, [], [1]));

    // Rows 0, −1 (the last), 2 and 0 again, as a 2×2 block: the output is N×3×2×2×W.
    [Fact]
    public void Gather_a_matrix_of_negative_and_repeated_row_indices() =>
        GradientAssert.Check((m, x) => Gather(m, m.Op("Tanh", m.Spread(x, 3)), 2, [2, 2], [0, -1, 2, 0]));

    // Columns gathered along axis −1, one of them three times (twice as −1): their gradients add up.
    [Fact]
    public void Gather_on_the_last_axis_with_an_index_repeated_three_times() =>
        GradientAssert.Check((m, x) => Gather(m, m.Spread(x, 2), -1, [5], [5, 1, -1, 0, -1]));

    [Fact]
    public void Gather_a_negative_scalar_index() => GradientAssert.Check((m, x) => Gather(m, m.Spread(x, 2), 3, [], [-2]));

    // Indices computed at run time from the shape (the last row): shape arithmetic, no gradient.
    [Fact]
    public void Gather_with_indices_computed_from_the_shape() => GradientAssert.Check((m, x) =>
    {
        var height = m.Op("Gather", [m.Op("Shape", x), m.Int64([], [2])], ("axis", 0L));
        var last = m.Op("Sub", [height, m.Int64([], [1])]);
        return m.Op("Gather", [m.Spread(x, 2), last], ("axis", 2L));
    });

    // Each element picks a row along axis 2 (negative and repeated picks included).
    [Fact]
    public void GatherElements_along_rows() => GradientAssert.Check((m, x) =>
    {
        var random = new Random(7);
        long[] dims = [2, 3, 4, Size];
        var indices = Enumerable.Range(0, 2 * 3 * 4 * Size).Select(_ => (long)random.Next(-Size, Size)).ToArray();
        return m.Op("GatherElements", [m.Spread(x, 2), m.Int64(dims, indices)], ("axis", 2L));
    }, height: Size, width: Size);
}

/// <summary>Small inputs shared by the indexing tests.</summary>
internal static class IndexingTestInputs
{
    /// <summary>An int64 initializer of any shape (a scalar for no dims).</summary>
    public static string Int64(this TinyModel m, long[] dims, long[] values)
    {
        var name = m.Int64Constant(values);
        return dims.Length == 1 && dims[0] == values.Length ? name : m.Op("Reshape", [name, m.Int64Constant(dims)]);
    }
}
