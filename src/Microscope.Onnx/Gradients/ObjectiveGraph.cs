using Microscope.Onnx.Proto;

namespace Microscope.Onnx.Gradients;

/// <summary>Appends the objective's nodes after the target layer (see <see cref="ObjectiveNames"/> for the formula).</summary>
/// <param name="emitter">Where the objective's nodes and constants go.</param>
/// <param name="shapes">Reference shapes, to which every emitted tensor's is added.</param>
internal sealed class ObjectiveGraph(GraphEmitter emitter, Dictionary<string, long[]> shapes)
{

    public string Build(string layer, long[] layerShape, ObjectiveTerms terms)
    {
        var batch = layerShape[0];
        var rank = layerShape.Length;
        var inner = Enumerable.Range(1, rank - 1).Select(i => (long)i).ToArray();
        var perElement = new long[] { batch };
        var parts = new List<string>();

        if (terms.HasFlag(ObjectiveTerms.Linear))
        {
            var product = Node("Mul", [layer, ObjectiveNames.Weights], layerShape);
            parts.Add(Node("ReduceSum", [product, Ints(inner)], perElement, NodeAttributes.IntAttribute("keepdims", 0)));
        }

        if (terms.HasFlag(ObjectiveTerms.L2))
        {
            var squared = Node("Mul", [layer, layer], layerShape);
            var sum = Node("ReduceSum", [squared, Ints(inner)], perElement, NodeAttributes.IntAttribute("keepdims", 0));
            var count = ElementCount(layer, rank);
            var mean = Node("Div", [sum, count], perElement);
            parts.Add(Node("Mul", [mean, ObjectiveNames.L2Weight], perElement));
        }

        if (terms.HasFlag(ObjectiveTerms.Diversity))
        {
            parts.Add(Diversity(layer, layerShape));
        }

        var objective = parts[0];
        for (var i = 1; i < parts.Count; i++)
        {
            objective = Node("Add", [objective, parts[i]], perElement);
        }

        emitter.Named("objective/output", "Identity", [objective], [ObjectiveNames.Objective]);
        shapes[ObjectiveNames.Objective] = perElement;
        return ObjectiveNames.Objective;
    }

    private string Diversity(string layer, long[] shape)
    {
        var batch = shape[0];
        var channels = shape[1];
        var positions = shape.Skip(2).Aggregate(1L, (a, b) => a * b);
        var flat = Node("Reshape", [layer, Ints(0, channels, -1)], [batch, channels, positions]);
        var transposed = Node("Transpose", [flat], [batch, positions, channels], NodeAttributes.IntsAttribute("perm", 0, 2, 1));
        var gram = Node("MatMul", [flat, transposed], [batch, channels, channels]);
        var gramFlat = Node("Reshape", [gram, Ints(0, -1)], [batch, channels * channels]);
        var squares = Node("Mul", [gramFlat, gramFlat], [batch, channels * channels]);
        var norm2 = Node("ReduceSum", [squares, Ints(1)], [batch, 1], NodeAttributes.IntAttribute("keepdims", 1));
        var epsilon = Constant(1e-10);
        var norm = Node("Sqrt", [Node("Add", [norm2, epsilon], [batch, 1])], [batch, 1]);
        var normalized = Node("Div", [gramFlat, norm], [batch, channels * channels]);
        var normalizedT = Node("Transpose", [normalized], [channels * channels, batch], NodeAttributes.IntsAttribute("perm", 1, 0));
        var similarity = Node("MatMul", [normalized, normalizedT], [batch, batch]);
        var eye = Node("EyeLike", [similarity], [batch, batch]);
        var offDiagonal = Node("Mul", [similarity, Node("Sub", [Constant(1), eye], [batch, batch])], [batch, batch]);
        var rowSums = Node("ReduceSum", [offDiagonal, Ints(1)], [batch], NodeAttributes.IntAttribute("keepdims", 0));
        var n = Node("Cast", [Node("Slice", [Node("Shape", [layer], [shape.Length]), Ints(0), Ints(1), Ints(0)], [1])], [1], NodeAttributes.IntAttribute("to", (long)ElementType));
        var mean = Node("Div", [rowSums, n], [batch]);
        return Node("Mul", [mean, Node("Neg", [ObjectiveNames.DiversityWeight], [])], [batch]);
    }

    /// <summary>C·H·W (or K) as a scalar of the element type, from the layer's shape at run time.</summary>
    private string ElementCount(string layer, int rank)
    {
        var dims = Node("Slice", [Node("Shape", [layer], [rank]), Ints(1), Ints(rank), Ints(0)], [rank - 1]);
        var product = Node("ReduceProd", [dims], [], NodeAttributes.IntAttribute("keepdims", 0));
        return Node("Cast", [product], [], NodeAttributes.IntAttribute("to", (long)ElementType));
    }

    public Proto.TensorProto.Types.DataType ElementType { get; init; } = Proto.TensorProto.Types.DataType.Float;

    private string Node(string op, string[] inputs, long[] shape, params AttributeProto[] attributes) => Shaped(emitter.Node(op, inputs, attributes), shape);

    private string Ints(params long[] values) => Shaped(emitter.Ints(values), [values.Length]);

    private string Constant(double value) => Shaped(emitter.Constant(ElementType, [], [value]), []);

    private string Shaped(string tensor, long[] shape)
    {
        shapes[tensor] = shape;
        return tensor;
    }
}
