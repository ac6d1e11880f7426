using Microscope.Testing;

namespace Microscope.Onnx.Tests.Gradients;

/// <summary>
/// Gradient checks on whole transformer blocks built in code, with the ops torchvision's ViT and
/// Swin exports put on the data path: patch embedding, a class token, LayerNormalization, heads split
/// off by Reshape and Transpose and picked out with qkv[i] (Gather), Softmax attention, the MLP with
/// Gelu written out with Erf, a constant relative-position lookup (Gather of a table), shifted
/// windows (Slice and Concat) and their attention mask (Equal and Where on constants).
/// </summary>
public sealed class TransformerGradientTests
{
    private const int Dim = 8;
    private const int Heads = 2;
    private const int HeadDim = Dim / Heads;

    [Fact]
    public void ViT_block_all_tokens() => GradientAssert.Check((m, x) => VitBlock(m, x), height: 4, width: 4);

    // x[:, 0]: the class token after the block, as the classifier reads it.
    [Fact]
    public void ViT_block_class_token() => GradientAssert.Check((m, x) =>
        m.Op("Gather", [VitBlock(m, x), m.Int64([], [0])], ("axis", 1L)), height: 4, width: 4);

    [Fact]
    public void Swin_block_with_shifted_windows() => GradientAssert.Check((m, x) => SwinBlock(m, x, window: 2, grid: 4), height: 8, width: 8);

    /// <summary>Patches of 2×2 → tokens, a class token in front, one pre-norm attention block and MLP: [N, 1 + patches, Dim].</summary>
    private static string VitBlock(TinyModel m, string x)
    {
        var patches = m.Conv(x, 3, Dim, kernel: 2, stride: 2, pad: 0);
        var tokens = m.Op("Transpose", m.Op("Reshape", [patches, m.Int64Constant([0, Dim, -1])]), ("perm", new long[] { 0, 2, 1 }));
        var batch = m.Op("Slice", [m.Op("Shape", x), m.Int64Constant([0]), m.Int64Constant([1])]);
        var classToken = m.Op("Expand", [m.Random([1, 1, Dim]), m.Concat(0, batch, m.Int64Constant([1, Dim]))]);
        var sequence = m.Op("Add", [m.Concat(1, classToken, tokens), m.Random([1, 5, Dim], 0.2)]);

        var attended = m.Op("Add", [sequence, Attention(m, LayerNorm(m, sequence), bias: null)]);
        return m.Op("Add", [attended, Mlp(m, LayerNorm(m, attended))]);
    }

    /// <summary>
    /// Channels-last patches on a grid×grid map, shifted by one, split into window×window windows,
    /// windowed attention with a relative-position bias and the shifted-window mask, merged back.
    /// </summary>
    private static string SwinBlock(TinyModel m, string x, int window, int grid)
    {
        var tokens = window * window;
        var perSide = grid / window;
        var map = m.Op("Transpose", m.Conv(x, 3, Dim, kernel: 2, stride: 2, pad: 0), ("perm", new long[] { 0, 2, 3, 1 }));
        var shifted = Roll(m, Roll(m, LayerNorm(m, map), 1, 1, grid), 2, 1, grid);
        var windows = m.Op("Reshape", [
            m.Op("Transpose", m.Op("Reshape", [shifted, m.Int64Constant([-1, perSide, window, perSide, window, Dim])]), ("perm", new long[] { 0, 1, 3, 2, 4, 5 })),
            m.Int64Constant([-1, tokens, Dim])]);

        var attended = Attention(m, windows, RelativePositionBias(m, window), ShiftMask(m, window, grid), [-1, perSide * perSide, Heads, tokens, tokens]);
        var merged = m.Op("Reshape", [
            m.Op("Transpose", m.Op("Reshape", [attended, m.Int64Constant([-1, perSide, perSide, window, window, Dim])]), ("perm", new long[] { 0, 1, 3, 2, 4, 5 })),
            m.Int64Constant([-1, grid, grid, Dim])]);
        var unshifted = Roll(m, Roll(m, merged, 1, grid - 1, grid), 2, grid - 1, grid);
        var residual = m.Op("Add", [map, unshifted]);
        return m.Op("Add", [residual, Mlp(m, LayerNorm(m, residual))]);
    }

    /// <summary>Multi-head self-attention over [B, T, Dim]: qkv in one MatMul, heads by Reshape and Transpose, q, k, v = qkv[0], qkv[1], qkv[2].</summary>
    /// <param name="mask">Added to the scores of each window: [nW, 1, T, T].</param>
    /// <param name="maskedView">The scores' view for the mask, [B, nW, heads, T, T].</param>
    private static string Attention(TinyModel m, string x, string? bias, string? mask = null, long[]? maskedView = null)
    {
        var qkv = m.Op("Add", [m.Op("MatMul", [x, m.Random([Dim, 3 * Dim])]), m.Random([3 * Dim], 0.1)]);
        var heads = m.Op("Transpose", m.Op("Reshape", [qkv, m.Int64Constant([0, 0, 3, Heads, HeadDim])]), ("perm", new long[] { 2, 0, 3, 1, 4 }));
        string Pick(long i) => m.Op("Gather", [heads, m.Int64([], [i])], ("axis", 0L));
        var (q, k, v) = (Pick(0), Pick(1), Pick(2));
        var scores = m.Op("MatMul", [m.Op("Mul", [q, m.Scalar(1 / Math.Sqrt(HeadDim))]), m.Op("Transpose", k, ("perm", new long[] { 0, 1, 3, 2 }))]);
        if (bias is not null)
        {
            scores = m.Op("Add", [scores, bias]);
        }

        if (mask is not null)
        {
            // [B·nW, h, T, T] viewed as [B, nW, h, T, T] for the mask of each window, and back.
            var shape = m.Op("Shape", scores);
            var windows = m.Op("Reshape", [scores, m.Int64Constant(maskedView!)]);
            scores = m.Op("Reshape", [m.Op("Add", [windows, mask]), shape]);
        }

        var context = m.Op("MatMul", [m.Op("Softmax", scores, ("axis", -1L)), v]);
        var merged = m.Op("Reshape", [m.Op("Transpose", context, ("perm", new long[] { 0, 2, 1, 3 })), m.Int64Constant([0, 0, Dim])]);
        return m.Op("Add", [m.Op("MatMul", [merged, m.Random([Dim, Dim])]), m.Random([Dim], 0.1)]);
    }

    private static string LayerNorm(TinyModel m, string x) =>
        m.Op("LayerNormalization", [x, m.Random([Dim], 1.5), m.Random([Dim], 0.2)], ("axis", -1L), ("epsilon", 1e-5));

    /// <summary>Linear, Gelu as PyTorch exports it before opset 20 (x · ½(1 + erf(x/√2))), linear.</summary>
    private static string Mlp(TinyModel m, string x)
    {
        var hidden = m.Op("Add", [m.Op("MatMul", [x, m.Random([Dim, 2 * Dim])]), m.Random([2 * Dim], 0.1)]);
        var erf = m.Op("Erf", m.Op("Div", [hidden, m.Scalar(Math.Sqrt(2))]));
        var gelu = m.Op("Mul", [m.Op("Mul", [hidden, m.Op("Add", [erf, m.Scalar(1)])]), m.Scalar(0.5)]);
        return m.Op("Add", [m.Op("MatMul", [gelu, m.Random([2 * Dim, Dim])]), m.Random([Dim], 0.1)]);
    }

    /// <summary>torch.roll by −shift along an axis of extent size: Slice and Concat.</summary>
    private static string Roll(TinyModel m, string x, long axis, long shift, long size) =>
        m.Concat((int)axis,
            m.Op("Slice", [x, m.Int64Constant([shift]), m.Int64Constant([size]), m.Int64Constant([axis])]),
            m.Op("Slice", [x, m.Int64Constant([0]), m.Int64Constant([shift]), m.Int64Constant([axis])]));

    /// <summary>Swin's relative-position bias: a table of (2w−1)² × heads learned values, looked up by a constant index: [1, heads, T, T]. No gradient reaches it.</summary>
    private static string RelativePositionBias(TinyModel m, int window)
    {
        var tokens = window * window;
        var index = new long[tokens * tokens];
        for (var i = 0; i < tokens; i++)
        {
            for (var j = 0; j < tokens; j++)
            {
                var dy = (i / window) - (j / window) + window - 1;
                var dx = (i % window) - (j % window) + window - 1;
                index[(i * tokens) + j] = (dy * ((2 * window) - 1)) + dx;
            }
        }

        var table = m.Random([((2 * window) - 1) * ((2 * window) - 1), Heads]);
        var looked = m.Op("Gather", [table, m.Int64Constant(index)], ("axis", 0L));
        var bias = m.Op("Transpose", m.Op("Reshape", [looked, m.Int64Constant([tokens, tokens, Heads])]), ("perm", new long[] { 2, 0, 1 }));
        return m.Op("Unsqueeze", [bias, m.Int64Constant([0])]);
    }

    /// <summary>The shifted-window mask, [nW, 1, T, T]: 0 between tokens of the same region, −100 across regions (Equal and Where on constants).</summary>
    private static string ShiftMask(TinyModel m, int window, int grid)
    {
        // Regions of the shifted map: rows and columns split at grid − window and grid − 1, as Swin does.
        long Region(int p) => p < grid - window ? 0 : p < grid - 1 ? 1 : 2;
        var perSide = grid / window;
        var tokens = window * window;
        var ids = new long[perSide * perSide * tokens];
        for (var w = 0; w < perSide * perSide; w++)
        {
            for (var t = 0; t < tokens; t++)
            {
                var row = ((w / perSide) * window) + (t / window);
                var column = ((w % perSide) * window) + (t % window);
                ids[(w * tokens) + t] = (Region(row) * 3) + Region(column);
            }
        }

        var rows = m.Int64([perSide * perSide, tokens, 1], ids);
        var columns = m.Int64([perSide * perSide, 1, tokens], ids);
        var mask = m.Op("Where", [m.Op("Equal", [rows, columns]), m.Scalar(0), m.Scalar(-100)]);
        return m.Op("Unsqueeze", [mask, m.Int64Constant([1])]);
    }
}
