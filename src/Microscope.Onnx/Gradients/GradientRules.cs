using Microscope.Onnx.Gradients.Rules;

namespace Microscope.Onnx.Gradients;

/// <summary>The one place where gradient rules are registered.</summary>
public static class GradientRules
{
    private static readonly IGradientRule[] All =
    [
        new ConvRule(), new ConvTransposeRule(), new BatchNormalizationRule(), new InstanceNormalizationRule(),
        new ReluRule(), new LeakyReluRule(), new PReluRule(), new EluRule(), new ClipRule(), new HardSigmoidRule(),
        new HardSwishRule(), new SigmoidRule(), new TanhRule(), new SoftplusRule(), new ExpRule(), new SqrtRule(), new ErfRule(),
        new NegRule(), new AbsRule(), new PowRule(),
        new AddRule(), new SubRule(), new MulRule(), new DivRule(), new SumRule(), new ExpandRule(),
        new GlobalAveragePoolRule(), new AveragePoolRule(), new MaxPoolRule(), new LrnRule(), new ResizeRule(),
        new ConcatRule(), new SplitRule(), new SliceRule(), new PadRule(), new ReshapeLikeRule(), new TransposeRule(),
        new MatMulRule(), new GemmRule(), new SoftmaxRule(), new LogSoftmaxRule(), new IdentityRule(), new CastRule(),
        new ReduceSumRule(), new ReduceMeanRule(), new LayerNormalizationRule(),
        new GatherRule(), new GatherElementsRule(), new WhereRule(), new MaxMinRule(), new TileRule(), new GlobalMaxPoolRule(),
        new ReduceExtremumRule(), new ReduceL2Rule(), new ReduceL1Rule(), new ReduceSumSquareRule(), new ReduceLogSumExpRule(),
        new EinsumRule(), new GeluRule(),
    ];

    private static readonly Dictionary<string, IGradientRule> ByOp = All
        .SelectMany(rule => rule.OpTypes.Select(op => (op, rule)))
        .ToDictionary(x => x.op, x => x.rule, StringComparer.Ordinal);

    /// <summary>Ops whose outputs carry no gradient (integer, boolean or piecewise-constant results).</summary>
    public static readonly IReadOnlySet<string> NonDifferentiable = new HashSet<string>(StringComparer.Ordinal)
    {
        "Shape", "Size", "NonZero", "ArgMax", "ArgMin", "Equal", "Greater", "Less", "GreaterOrEqual", "LessOrEqual",
        "Not", "And", "Or", "Xor", "BitwiseNot", "BitwiseAnd", "BitwiseOr", "BitwiseXor", "BitShift", "IsNaN", "IsInf", "ConstantOfShape", "EyeLike", "Range", "Floor", "Ceil", "Round", "Sign",
        "Constant", "RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Bernoulli",
    };

    public static IEnumerable<string> SupportedOps => ByOp.Keys.Order(StringComparer.Ordinal);

    public static IGradientRule? For(string opType) => ByOp.GetValueOrDefault(opType);
}
