using Microscope.Onnx.Proto;

namespace Microscope.Onnx;

/// <summary>A tensor of the graph that may be shown as a layer, before its shape is known.</summary>
public sealed record LayerCandidate(string Tensor, NodeProto Node, int Order);

/// <summary>
/// Picks the "significant" layers of a vision model: the outputs a researcher would want to look
/// at, as Microscope showed them. The rule is structural, so it works for any exporter:
/// <list type="bullet">
/// <item>feature maps made by convolutions, activations, normalizations, pooling, residual sums and
/// products, concatenations and resizes; class scores made by Gemm, MatMul (with its bias) and Softmax;</item>
/// <item>a candidate is hidden when it only flows, through element-wise steps, into another candidate
/// (a Conv followed by BatchNormalization and Relu shows once, as the Relu; a hard-swish written out as
/// Add, Clip, Div and Mul shows once, as the Mul);</item>
/// <item>arithmetic with a constant (x + 3, x / 6) is never a layer of its own, except the bias of a
/// fully connected layer;</item>
/// <item>after shapes are known, 1×1 feature maps that only gate other maps (squeeze-and-excitation)
/// are dropped (see <see cref="KeepAfterProbe"/>).</item>
/// </list>
/// </summary>
public static class LayerSelection
{
    private static readonly HashSet<string> UnaryPassThrough =
    [
        "Relu", "Clip", "LeakyRelu", "PRelu", "Elu", "Selu", "HardSwish", "HardSigmoid", "Sigmoid", "Tanh",
        "Softplus", "Mish", "Gelu", "Erf", "BatchNormalization", "InstanceNormalization", "Identity", "Dropout", "Cast",
    ];

    private static readonly HashSet<string> Binary = ["Add", "Sub", "Mul", "Div", "Max", "Min", "Pow", "Sum"];

    private static readonly HashSet<string> FeatureOps =
    [
        "Conv", "ConvTranspose", "Relu", "Clip", "LeakyRelu", "PRelu", "Elu", "Selu", "HardSwish", "HardSigmoid",
        "Sigmoid", "Tanh", "Softplus", "Mish", "Gelu", "BatchNormalization", "InstanceNormalization", "LayerNormalization", "LRN",
        "Concat", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "Resize", "Upsample",
        "Gemm", "MatMul", "Softmax", "LogSoftmax", "Flatten",
    ];

    /// <summary>Ops whose outputs feed a classifier head; a 1×1 map feeding one of these is kept.</summary>
    private static readonly HashSet<string> HeadOps = ["Flatten", "Reshape", "Squeeze", "Gemm", "MatMul"];

    /// <summary>Candidates in graph order, before shapes are known.</summary>
    public static IReadOnlyList<LayerCandidate> Candidates(OnnxGraph graph)
    {
        var result = new List<LayerCandidate>();
        var order = 0;
        foreach (var node in graph.TopologicalOrder)
        {
            if (node.Output.Count == 0 || node.Output[0].Length == 0 || !string.IsNullOrEmpty(node.Domain) && node.Domain != "ai.onnx" ||
                node.Name.StartsWith(VisionGraph.ReservedPrefix, StringComparison.Ordinal))
            {
                continue;
            }

            var tensor = node.Output[0];
            if (!IsCandidateNode(graph, node) || (!graph.IsGraphOutput(tensor) && FlowsOnlyIntoLayers(graph, tensor)))
            {
                continue;
            }

            result.Add(new LayerCandidate(tensor, node, order++));
        }

        return result;
    }

    /// <summary>
    /// The shape rule, on a layer's canonical shape (N,C,H,W or N,K; see Layout.LayerLayouts): 1×1
    /// maps only as outputs or classifier inputs.
    /// </summary>
    public static bool KeepAfterProbe(OnnxGraph graph, LayerCandidate candidate, IReadOnlyList<long> shape)
    {
        if (shape.Count == 2)
        {
            return shape[1] > 0;
        }

        if (shape.Count != 4 || shape[1] <= 0)
        {
            return false;
        }

        if (shape[2] == 1 && shape[3] == 1 && !graph.IsGraphOutput(candidate.Tensor))
        {
            return graph.Consumers(candidate.Tensor).Any(c => HeadOps.Contains(c.OpType));
        }

        return true;
    }

    private static bool IsCandidateNode(OnnxGraph graph, NodeProto node)
    {
        if (FeatureOps.Contains(node.OpType))
        {
            return node.OpType != "Flatten";
        }

        if (!Binary.Contains(node.OpType))
        {
            return false;
        }

        var constants = node.Input.Count(i => IsConstant(graph, i));
        if (constants == 0)
        {
            return true;
        }

        return IsBiasAdd(graph, node);
    }

    /// <summary>The bias of a fully connected layer: MatMul then Add(bias).</summary>
    private static bool IsBiasAdd(OnnxGraph graph, NodeProto node) =>
        node.OpType == "Add" && node.Input.Any(i => graph.Producer(i)?.OpType is "MatMul" or "Gemm");

    /// <summary>
    /// True when every use of <paramref name="tensor"/> is an element-wise step that ends in another
    /// candidate, so the later candidate shows the same features.
    /// </summary>
    private static bool FlowsOnlyIntoLayers(OnnxGraph graph, string tensor)
    {
        var consumers = graph.Consumers(tensor);
        if (consumers.Count == 0)
        {
            return false;
        }

        foreach (var consumer in consumers)
        {
            if (!IsPassThroughOf(graph, consumer, tensor, depth: 0))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsPassThroughOf(OnnxGraph graph, NodeProto node, string source, int depth)
    {
        if (depth > 5)
        {
            return false;
        }

        var elementWise = UnaryPassThrough.Contains(node.OpType) ||
            Binary.Contains(node.OpType) && node.Input.All(i => i == source || IsConstant(graph, i) || DerivesFrom(graph, i, source, 0) || DerivesFrom(graph, source, i, 0));
        if (!elementWise)
        {
            return false;
        }

        if (IsCandidateNode(graph, node) && (!(Binary.Contains(node.OpType) && node.Input.Any(i => IsConstant(graph, i))) || IsBiasAdd(graph, node)))
        {
            return true;
        }

        var output = node.Output[0];
        var next = graph.Consumers(output);
        return next.Count > 0 && !graph.IsGraphOutput(output) && next.All(n => IsPassThroughOf(graph, n, output, depth + 1) || IsPassThroughOf(graph, n, source, depth + 1));
    }

    /// <summary>True when <paramref name="tensor"/> is computed from <paramref name="source"/> by element-wise steps only.</summary>
    private static bool DerivesFrom(OnnxGraph graph, string tensor, string source, int depth)
    {
        if (tensor == source)
        {
            return true;
        }

        var producer = graph.Producer(tensor);
        if (producer is null || depth > 5 || !(UnaryPassThrough.Contains(producer.OpType) || Binary.Contains(producer.OpType)))
        {
            return false;
        }

        return producer.Input.Any(i => DerivesFrom(graph, i, source, depth + 1)) &&
            producer.Input.All(i => IsConstant(graph, i) || DerivesFrom(graph, i, source, depth + 1));
    }

    internal static bool IsConstant(OnnxGraph graph, string tensor) =>
        graph.IsInitializer(tensor) || graph.Producer(tensor)?.OpType == "Constant";
}
