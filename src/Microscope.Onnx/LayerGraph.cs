using Microscope.Onnx.Proto;

namespace Microscope.Onnx;

/// <summary>"<paramref name="From"/> feeds <paramref name="To"/>": a path in the ONNX graph from one layer to the other through no other layer.</summary>
public sealed record LayerEdge(string From, string To);

/// <summary>
/// The graph of a model's layers: which layer feeds which. A layer is fed by the nearest layers
/// (or the image, node <see cref="Input"/>) found walking back from it through the ONNX graph; the
/// walk stops at every layer it meets, so an edge is a path that passes through no other layer.
/// Conv→BatchNorm→Relu shown as one layer is one node, and a residual sum shown as its Relu is fed
/// by both the block's last normalization and the block's input.
/// </summary>
public static class LayerGraph
{
    /// <summary>The id of the image in the layer graph.</summary>
    public const string Input = "input";

    /// <summary>
    /// Ops whose output is an affine function of their image-dependent inputs, given the other inputs
    /// are constants: sums, scalings, linear filters and rearrangements. Anything else (Relu, MaxPool,
    /// a product of two image-dependent tensors) is a nonlinearity.
    /// </summary>
    private static readonly HashSet<string> AffineOps =
    [
        "Conv", "ConvTranspose", "BatchNormalization", "Add", "Sub", "Sum", "Neg", "Identity", "Dropout", "Cast",
        "Transpose", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Slice", "Split", "Concat", "Pad", "Gather",
        "AveragePool", "GlobalAveragePool", "ReduceMean", "ReduceSum", "Resize", "Upsample", "DepthToSpace", "SpaceToDepth", "Expand", "Tile",
    ];

    /// <summary>Ops that are affine only when every image-dependent input but one is absent: a product or quotient with a constant.</summary>
    private static readonly HashSet<string> AffineWithConstant = ["Mul", "Div", "MatMul", "Gemm"];

    /// <summary>Ops whose output depends on the image's shape only, never on its values.</summary>
    private static readonly HashSet<string> ShapeOnly = ["Shape", "Size"];

    /// <summary>
    /// The edges among <paramref name="layers"/> (id and the model's tensor it reads, in graph order)
    /// and the image <paramref name="image"/>, ordered by the feeding layer, then the fed one.
    /// Layers that share a tensor (a grid and its class token) are fed alike and feed alike.
    /// </summary>
    public static IReadOnlyList<LayerEdge> Edges(OnnxGraph graph, string image, IReadOnlyList<(string Id, string Tensor)> layers)
    {
        var byTensor = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var rank = new Dictionary<string, int>(StringComparer.Ordinal) { [Input] = -1 };
        foreach (var (id, tensor) in layers)
        {
            (byTensor.TryGetValue(tensor, out var ids) ? ids : byTensor[tensor] = []).Add(id);
            rank[id] = rank.Count;
        }

        var edges = new HashSet<LayerEdge>();
        foreach (var (id, tensor) in layers)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var pending = new Stack<string>(Inputs(graph, tensor));
            while (pending.Count > 0)
            {
                var name = pending.Pop();
                if (!seen.Add(name))
                {
                    continue;
                }

                if (name == image)
                {
                    edges.Add(new LayerEdge(Input, id));
                }
                else if (name != tensor && byTensor.TryGetValue(name, out var feeders))
                {
                    edges.UnionWith(feeders.Select(f => new LayerEdge(f, id)));
                }
                else
                {
                    foreach (var input in Inputs(graph, name))
                    {
                        pending.Push(input);
                    }
                }
            }
        }

        return [.. edges.OrderBy(e => rank[e.From]).ThenBy(e => rank[e.To])];
    }

    /// <summary>
    /// The tensors that are affine functions of the image <paramref name="image"/>: no
    /// nonlinearity lies between them and the image. Tensors that do not depend on the image's
    /// values (constants, shape arithmetic) are not listed.
    /// </summary>
    public static IReadOnlySet<string> AffineInImage(OnnxGraph graph, string image)
    {
        var dependent = new HashSet<string>(StringComparer.Ordinal) { image };
        var affine = new HashSet<string>(StringComparer.Ordinal) { image };
        foreach (var node in graph.TopologicalOrder)
        {
            var fed = node.Input.Where(i => i.Length > 0 && dependent.Contains(i)).ToList();
            if (fed.Count == 0 || ShapeOnly.Contains(node.OpType))
            {
                continue;
            }

            var isAffine = fed.All(affine.Contains) && (AffineOps.Contains(node.OpType) || AffineWithConstant.Contains(node.OpType) && fed.Count == 1 && (node.OpType != "Div" || node.Input[0] == fed[0]));
            foreach (var output in node.Output.Where(o => o.Length > 0))
            {
                dependent.Add(output);
                if (isAffine)
                {
                    affine.Add(output);
                }
            }
        }

        return affine;
    }

    private static IEnumerable<string> Inputs(OnnxGraph graph, string tensor) =>
        graph.Producer(tensor) is { } producer ? producer.Input.Where(i => i.Length > 0) : [];
}
