using Microscope.Testing;

namespace Microscope.Onnx.Tests.Gradients;

/// <summary>MatMul, Gemm, Softmax and LogSoftmax.</summary>
public sealed class LinearGradientTests
{
    private const int Size = 6;
    private const int Features = 3 * Size * Size;

    private static string Flat(TinyModel m, string x) => m.Op("Flatten", x, ("axis", 1L));

    private static string SwapLastTwo(TinyModel m, string x) => m.Op("Transpose", x, ("perm", new long[] { 0, 1, 3, 2 }));

    [Fact]
    public void MatMul_of_the_flattened_image_by_a_constant() =>
        GradientAssert.Check((m, x) => m.Op("MatMul", [Flat(m, x), m.Random([Features, 5])]));

    // [N,3,H,W] · [W,K]: the constant is broadcast over the two batch axes.
    [Fact]
    public void MatMul_batched_4d_by_a_constant_matrix() =>
        GradientAssert.Check((m, x) => m.Op("MatMul", [x, m.Random([Size, 4])]));

    [Fact]
    public void MatMul_with_both_operands_active() => GradientAssert.Check((m, x) =>
    {
        var a = m.Spread(x, 2);
        return m.Op("MatMul", [a, SwapLastTwo(m, m.Op("Tanh", a))]);
    });

    // The right operand, [N,1,W,H], is active and broadcast over the channels.
    [Fact]
    public void MatMul_with_an_active_operand_broadcast_over_channels() => GradientAssert.Check((m, x) =>
        m.Op("MatMul", [m.Spread(x, 2), SwapLastTwo(m, m.Op("ReduceMean", m.Op("Mul", [x, x]), ("axes", new long[] { 1 })))]));

    [Fact]
    public void Gemm_transB_with_alpha_beta_and_a_constant_bias() => GradientAssert.Check((m, x) =>
        m.Op("Gemm", [Flat(m, x), m.Random([5, Features]), m.Random([5])], ("transB", 1L), ("alpha", 0.7), ("beta", 1.3)));

    [Fact]
    public void Gemm_with_an_active_bias() => GradientAssert.Check((m, x) =>
        m.Op("Gemm", [Flat(m, x), m.Random([Features, 3]), m.Op("ReduceMean", m.Op("Mul", [x, x]), ("axes", new long[] { 2, 3 }), ("keepdims", 0L))], ("alpha", 0.7), ("beta", 1.3)));

    [Fact]
    public void Gemm_transA_of_a_transposed_operand() => GradientAssert.Check((m, x) =>
        m.Op("Gemm", [m.Op("Transpose", Flat(m, x)), m.Random([Features, 4]), m.Random([4])], ("transA", 1L)));

    // Y = α·X·Xᵀ, [N, N], with both operands the same active tensor.
    [Fact]
    public void Gemm_with_both_operands_active_transB() => GradientAssert.Check((m, x) =>
    {
        var f = Flat(m, m.Spread(x, 2));
        return m.Op("Gemm", [f, f], ("transB", 1L), ("alpha", 0.5));
    });

    [Fact]
    public void Gemm_with_both_operands_active_transA() => GradientAssert.Check((m, x) =>
    {
        var t = m.Op("Transpose", Flat(m, m.Spread(x, 2)));
        return m.Op("Gemm", [t, t], ("transA", 1L));
    });

    // Attention scores as timm and the einsum-based exporters write them: both operands active.
    [Fact]
    public void Einsum_attention_scores_bhqd_bhkd_to_bhqk() => GradientAssert.Check((m, x) =>
    {
        var a = m.Spread(x, 2);
        return m.Op("Einsum", [a, m.Op("Tanh", a)], ("equation", "bhqd,bhkd->bhqk"));
    });

    // Implicit output ("ij,jk" gives "ik") on the flattened image and a constant.
    [Fact]
    public void Einsum_implicit_output() => GradientAssert.Check((m, x) =>
        m.Op("Einsum", [Flat(m, x), m.Random([Features, 4])], ("equation", "ij,jk")));

    // An ellipsis for the batch and channel axes; a weighted sum over rows that only the image has.
    [Fact]
    public void Einsum_with_an_ellipsis_and_an_axis_summed_inside_one_operand() => GradientAssert.Check((m, x) =>
        m.Op("Einsum", [m.Spread(x, 2), m.Random([Size, 4])], ("equation", "...hw,wk->...k")));

    [Fact]
    public void Einsum_of_one_operand_transposed_and_summed() => GradientAssert.Check((m, x) =>
        m.Op("Einsum", [m.Spread(x, 2)], ("equation", "bchw->bwc")));

    /// <summary>On the flattened image (rank 2) or the image (rank 4); at opset 11 on rank 4 the op works on the input flattened at the axis.</summary>
    [Theory]
    [InlineData("Softmax", 13L, 2, -1L)]
    [InlineData("Softmax", 13L, 4, 1L)]
    [InlineData("Softmax", 11L, 4, 1L)]
    [InlineData("Softmax", 11L, 2, 1L)]
    [InlineData("LogSoftmax", 13L, 2, -1L)]
    [InlineData("LogSoftmax", 13L, 4, 1L)]
    [InlineData("LogSoftmax", 11L, 4, 1L)]
    public void Softmax_family(string op, long opset, int rank, long axis) => GradientAssert.Check((m, x) =>
    {
        var input = m.Spread(x, 4);
        return m.Op(op, rank == 2 ? Flat(m, input) : input, ("axis", axis));
    }, opset: opset);
}
