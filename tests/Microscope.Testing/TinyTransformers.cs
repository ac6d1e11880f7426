using Microscope.Onnx.Proto;

namespace Microscope.Testing;

/// <summary>
/// Small models of today's architectures, built in code the way exporters write them: a
/// channels-last MLP block (ConvNeXt), a patch-embedding transformer with a class token and
/// multi-head attention (ViT, one block as torchvision's MultiheadAttention exports it, with tokens
/// flattened into the batch, and one as timm's qkv split), and Swin-like windowed attention with
/// `qkv[i]` Gathers and a constant relative-position bias lookup. Input: N×3×8×8.
/// </summary>
public static class TinyTransformers
{
    public const int Size = 8;

    /// <summary>Patch conv (2×2, 8 channels) → channels-last LayerNorm → MatMul → GELU → MatMul → back to N×C×H×W → residual → head.</summary>
    public static ModelProto ChannelsLastMlp(int seed = 1)
    {
        var (m, patches, nhwc, norm) = ChannelsLastStem(seed);
        var hidden = Gelu(m, Linear(m, norm, 8, 16));                                // N×4×4×16
        var back = Linear(m, hidden, 16, 8);                                         // N×4×4×8
        var nchw = m.Op("Transpose", back, ("perm", new long[] { 0, 3, 1, 2 }));
        var sum = m.Add(nchw, patches);
        Head(m, m.Op("Flatten", m.Op("GlobalAveragePool", sum), ("axis", 1L)), 8);
        return m.Build();
    }

    /// <summary>
    /// Patch embedding (2×2 → 16 tokens of 8 features), a class token and position embedding, then
    /// block 1 in torchvision's MultiheadAttention form (sequence first, heads folded into the
    /// batch, the output projection as Gemm on tokens flattened into the batch) and block 2 in
    /// timm's form (qkv reshaped to 3×heads and split with Gather), a final LayerNorm and a head on
    /// the class token.
    /// </summary>
    public static ModelProto Vit(int seed = 1)
    {
        var m = new TinyModel(opset: 17, seed: seed);
        var x = m.Input("x", -1, 3, Size, Size);
        var patches = m.Conv(x, 3, 8, kernel: 2, stride: 2, pad: 0);                         // N×8×4×4
        var flat = m.Op("Reshape", [patches, m.Int64Constant([-1, 8, 16])]);                 // N×8×16
        var tokens = m.Op("Transpose", flat, ("perm", new long[] { 0, 2, 1 }));              // N×16×8
        var n = m.Op("Unsqueeze", [m.Op("Gather", [m.Op("Shape", tokens), Scalar(m, 0)], ("axis", 0L)), m.Int64Constant([0])]);
        var clsShape = m.Op("Concat", [n, m.Int64Constant([1, 8])], ("axis", 0L));
        var cls = m.Op("Expand", [m.Random([1, 1, 8]), clsShape]);
        var sequence = m.Op("Add", [m.Concat(1, cls, tokens), m.Random([1, 17, 8], 0.1)]); // N×17×8

        var block1 = TorchvisionBlock(m, sequence);
        var block2 = TimmBlock(m, block1);
        var final = LayerNorm(m, block2, 8);
        var classToken = m.Op("Gather", [final, Scalar(m, 0)], ("axis", 1L));              // N×8
        Head(m, classToken, 8);
        return m.Build();
    }

    /// <summary>Patch conv → channels-last → one Swin block: window partition (2×2 windows), attention with a relative-position bias lookup, window reverse, residual, MLP.</summary>
    public static ModelProto Swin(int seed = 1)
    {
        var (m, patches, nhwc, norm) = ChannelsLastStem(seed);
        var grid = m.Op("Reshape", [norm, m.Int64Constant([-1, 2, 2, 2, 2, 8])]);
        var windows = m.Op("Reshape", [m.Op("Transpose", grid, ("perm", new long[] { 0, 1, 3, 2, 4, 5 })), m.Int64Constant([-1, 4, 8])]); // (N·4)×4×8

        var qkv = m.Op("Reshape", [Linear(m, windows, 8, 24), m.Int64Constant([-1, 4, 3, 2, 4])]);
        var split = m.Op("Transpose", qkv, ("perm", new long[] { 2, 0, 3, 1, 4 }));            // 3×(N·4)×2×4×4
        var (q, k, v) = (m.Op("Gather", [split, Scalar(m, 0)], ("axis", 0L)), m.Op("Gather", [split, Scalar(m, 1)], ("axis", 0L)), m.Op("Gather", [split, Scalar(m, -1)], ("axis", 0L)));
        var scores = m.Op("MatMul", [m.Op("Mul", [q, m.Constant([1], [0.5])]), m.Op("Transpose", k, ("perm", new long[] { 0, 1, 3, 2 }))]);
        var table = m.Random([9, 2], 0.2);
        var index = m.Int64Constant([.. Enumerable.Range(0, 16).Select(i => (long)((i * 7) % 9))]);
        var bias = m.Op("Transpose", m.Op("Reshape", [m.Op("Gather", [table, index], ("axis", 0L)), m.Int64Constant([4, 4, 2])]), ("perm", new long[] { 2, 0, 1 }));
        var attention = m.Op("Softmax", m.Op("Add", [scores, bias]), ("axis", -1L));
        var mixed = m.Op("Reshape", [m.Op("Transpose", m.Op("MatMul", [attention, v]), ("perm", new long[] { 0, 2, 1, 3 })), m.Int64Constant([-1, 4, 8])]);
        var projected = Linear(m, mixed, 8, 8);                                                // (N·4)×4×8
        var reverse = m.Op("Reshape", [projected, m.Int64Constant([-1, 2, 2, 2, 2, 8])]);
        var merged = m.Op("Reshape", [m.Op("Transpose", reverse, ("perm", new long[] { 0, 1, 3, 2, 4, 5 })), m.Int64Constant([-1, 4, 4, 8])]);
        var residual = m.Add(merged, nhwc);                                                    // N×4×4×8
        var mlp = m.Add(Linear(m, Gelu(m, Linear(m, LayerNorm(m, residual, 8), 8, 16)), 16, 8), residual);
        var nchw = m.Op("Transpose", mlp, ("perm", new long[] { 0, 3, 1, 2 }));
        Head(m, m.Op("Flatten", m.Op("GlobalAveragePool", nchw), ("axis", 1L)), 8);
        return m.Build();
    }

    /// <summary>A 2×2 patch convolution to 8 channels (N×8×4×4), turned channels-last (N×4×4×8) and layer-normalized.</summary>
    private static (TinyModel Model, string Patches, string ChannelsLast, string Normalized) ChannelsLastStem(int seed)
    {
        var m = new TinyModel(opset: 17, seed: seed);
        var x = m.Input("x", -1, 3, Size, Size);
        var patches = m.Conv(x, 3, 8, kernel: 2, stride: 2, pad: 0);
        var nhwc = m.Op("Transpose", patches, ("perm", new long[] { 0, 2, 3, 1 }));
        return (m, patches, nhwc, LayerNorm(m, nhwc, 8));
    }

    private static string TorchvisionBlock(TinyModel m, string sequence)
    {
        // nn.MultiheadAttention(batch_first=True) as exported: sequence first, heads folded into the batch.
        var first = m.Op("Transpose", LayerNorm(m, sequence, 8), ("perm", new long[] { 1, 0, 2 }));     // 17×N×8
        var qkv = Linear(m, first, 8, 24);                                                              // 17×N×24
        var parts = m.Node("Split", [qkv, m.Int64Constant([8, 8, 8])], 3, ("axis", 2L));
        string Heads(string t) => m.Op("Transpose", m.Op("Reshape", [t, m.Int64Constant([17, -1, 4])]), ("perm", new long[] { 1, 0, 2 })); // (N·2)×17×4
        var (q, k, v) = (Heads(parts[0]), Heads(parts[1]), Heads(parts[2]));
        var scores = m.Op("MatMul", [m.Op("Mul", [q, m.Constant([1], [0.5])]), m.Op("Transpose", k, ("perm", new long[] { 0, 2, 1 }))]);
        var mixed = m.Op("MatMul", [m.Op("Softmax", scores, ("axis", -1L)), v]);                         // (N·2)×17×4
        var flat = m.Op("Reshape", [m.Op("Transpose", mixed, ("perm", new long[] { 1, 0, 2 })), m.Int64Constant([-1, 8])]); // (17·N)×8
        var projected = m.Op("Gemm", [flat, m.Random([8, 8], 0.4), m.Random([8], 0.1)], ("transB", 1L));
        var back = m.Op("Transpose", m.Op("Reshape", [projected, m.Int64Constant([17, -1, 8])]), ("perm", new long[] { 1, 0, 2 }));
        var attended = m.Add(back, sequence);
        return m.Add(Linear(m, Gelu(m, Linear(m, LayerNorm(m, attended, 8), 8, 16)), 16, 8), attended);
    }

    private static string TimmBlock(TinyModel m, string sequence)
    {
        var qkv = m.Op("Reshape", [Linear(m, LayerNorm(m, sequence, 8), 8, 24), m.Int64Constant([-1, 17, 3, 2, 4])]);
        var split = m.Op("Transpose", qkv, ("perm", new long[] { 2, 0, 3, 1, 4 }));                     // 3×N×2×17×4
        var (q, k, v) = (m.Op("Gather", [split, Scalar(m, 0)], ("axis", 0L)), m.Op("Gather", [split, Scalar(m, 1)], ("axis", 0L)), m.Op("Gather", [split, Scalar(m, 2)], ("axis", 0L)));
        var scores = m.Op("MatMul", [q, m.Op("Transpose", k, ("perm", new long[] { 0, 1, 3, 2 }))]);
        var mixed = m.Op("MatMul", [m.Op("Softmax", m.Op("Mul", [scores, m.Constant([1], [0.5])]), ("axis", -1L)), v]);
        var merged = m.Op("Reshape", [m.Op("Transpose", mixed, ("perm", new long[] { 0, 2, 1, 3 })), m.Int64Constant([-1, 17, 8])]);
        var attended = m.Add(Linear(m, merged, 8, 8), sequence);
        return m.Add(Linear(m, Gelu(m, Linear(m, LayerNorm(m, attended, 8), 8, 16)), 16, 8), attended);
    }

    /// <summary>x·W + b on the last axis, as torch exports nn.Linear on more than two axes.</summary>
    public static string Linear(TinyModel m, string x, int inputs, int outputs) =>
        m.Op("Add", [m.Op("MatMul", [x, m.Random([inputs, outputs], 1.2 / Math.Sqrt(inputs))]), m.Random([outputs], 0.1)]);

    /// <summary>GELU written out as torch exports it before opset 20: x · ½(1 + erf(x/√2)).</summary>
    public static string Gelu(TinyModel m, string x)
    {
        var erf = m.Op("Erf", m.Op("Div", [x, m.Constant([1], [Math.Sqrt(2)])]));
        return m.Op("Mul", [m.Op("Mul", [x, m.Op("Add", [erf, m.Constant([1], [1])])]), m.Constant([1], [0.5])]);
    }

    public static string LayerNorm(TinyModel m, string x, int features) =>
        m.Op("LayerNormalization", [x, m.Constant([features], [.. Enumerable.Repeat(1.0, features)]), m.Random([features], 0.1)], ("axis", -1L));

    private static void Head(TinyModel m, string features, int inputs) =>
        m.Output(m.Op("Gemm", [features, m.Random([5, inputs]), m.Random([5], 0.1)], ("transB", 1L)));

    private static string Scalar(TinyModel m, long value) => m.Int64Scalar(value);
}
