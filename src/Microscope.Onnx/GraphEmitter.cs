using Microscope.Onnx.Proto;
using DataType = Microscope.Onnx.Proto.TensorProto.Types.DataType;

namespace Microscope.Onnx;

/// <summary>
/// The one way this project writes ONNX nodes and constants into a graph it builds: the gradient
/// pass, the objective, the forward tweaks of gradient rules, the canonical layer views, the
/// preprocessing prelude and the resident render step all emit through it.
/// </summary>
/// <remarks>
/// Every name it makes is <c>{prefix}{hint}_{n}</c>, unique within the emitter and never one of
/// the <c>taken</c> names it was given (the graph's own tensors), so emitted nodes can be appended
/// to any graph without a clash. A node is named after its first output (with
/// <c>nodePrefix</c> before it when given), so a node and the tensor it makes read the same in a
/// profile or a viewer. Nodes and initializers are collected in <see cref="Nodes"/> and
/// <see cref="Initializers"/>; the caller places them in the graph, where they belong in order.
/// </remarks>
/// <param name="prefix">The namespace of every fresh name, e.g. <c>grad/</c>.</param>
/// <param name="taken">Names already used in the graph the nodes will join.</param>
/// <param name="nodePrefix">Put before a node's output name to make the node's name.</param>
public sealed class GraphEmitter(string prefix, IEnumerable<string>? taken = null, string nodePrefix = "")
{
    private readonly HashSet<string> taken = new(taken ?? [], StringComparer.Ordinal);
    private int counter;

    /// <summary>The emitted nodes, in the order they were emitted.</summary>
    public List<NodeProto> Nodes { get; } = [];

    /// <summary>The emitted constants.</summary>
    public List<TensorProto> Initializers { get; } = [];

    /// <summary>The names of every tensor of a graph: its inputs, initializers and node outputs.</summary>
    public static IEnumerable<string> NamesIn(GraphProto graph) =>
        graph.Input.Select(i => i.Name).Concat(graph.Initializer.Select(i => i.Name)).Concat(graph.Node.SelectMany(n => n.Output));

    /// <summary>A name no one has used: <c>{prefix}{hint}_{n}</c>.</summary>
    public string Fresh(string hint = "t")
    {
        string name;
        do
        {
            name = $"{prefix}{hint}_{counter++}";
        }
        while (!taken.Add(name));
        return name;
    }

    /// <summary>A node with one fresh output; returns the output's name.</summary>
    public string Node(string op, string[] inputs, params AttributeProto[] attributes) => Node(op, inputs, Fresh(op.ToLowerInvariant()), attributes);

    /// <summary>A node writing <paramref name="output"/>, a name the caller chose (a graph's fixed output); returns it.</summary>
    public string Node(string op, string[] inputs, string output, params AttributeProto[] attributes) =>
        Named(nodePrefix + output, op, inputs, [output], attributes).Output[0];

    /// <summary>A node with <paramref name="outputs"/> fresh outputs; returns their names.</summary>
    public string[] Node(string op, string[] inputs, int outputs, params AttributeProto[] attributes)
    {
        string[] names = [.. Enumerable.Range(0, outputs).Select(_ => Fresh(op.ToLowerInvariant()))];
        Named(nodePrefix + names[0], op, inputs, names, attributes);
        return names;
    }

    public string Mul(string a, string b) => Node("Mul", [a, b]);

    /// <summary>A node with a name of the caller's (a model's node kept under its own name).</summary>
    public NodeProto Named(string name, string op, string[] inputs, string[] outputs, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = op, Name = name };
        node.Input.Add(inputs);
        node.Output.Add(outputs);
        node.Attribute.Add(attributes);
        taken.UnionWith(outputs);
        Nodes.Add(node);
        return node;
    }

    /// <summary>Adds a node of another graph, already renamed to join this one.</summary>
    public void Copy(NodeProto node)
    {
        taken.UnionWith(node.Output);
        Nodes.Add(node);
    }

    /// <summary>Adds a constant under its own name; returns the name.</summary>
    public string Initializer(TensorProto tensor)
    {
        taken.Add(tensor.Name);
        Initializers.Add(tensor);
        return tensor.Name;
    }

    /// <summary>A constant of the given float type (float, or double in tests).</summary>
    public string Constant(DataType type, long[] dims, double[] values) => Initializer(Tensors.OfType(type, Fresh("const"), dims, values));

    /// <summary>A float32 tensor.</summary>
    public string Floats(long[] dims, float[] values) => Initializer(Tensors.Float(Fresh("floats"), dims, values));

    /// <summary>A float32 vector.</summary>
    public string Floats(params float[] values) => Floats([values.Length], values);

    /// <summary>A float32 scalar.</summary>
    public string FloatScalar(double value) => Floats([], [(float)value]);

    /// <summary>An int64 vector (axes, shapes, slice bounds).</summary>
    public string Ints(params long[] values) => Initializer(Tensors.Int64Vector(Fresh("ints"), values));

    /// <summary>An int64 scalar.</summary>
    public string IntScalar(long value) => Initializer(Tensors.Int64(Fresh("int"), [], [value]));
}
