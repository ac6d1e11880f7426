using Microscope.Onnx.Proto;

namespace Microscope.Onnx;

/// <summary>
/// An index over a graph: who produces and who consumes each tensor, which names are
/// initializers, and the nodes in an order where every node follows its inputs.
/// Built once per model; the protobuf itself is not changed.
/// </summary>
public sealed class OnnxGraph
{
    private readonly Dictionary<string, NodeProto> producers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<NodeProto>> consumers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TensorProto> initializers = new(StringComparer.Ordinal);

    public OnnxGraph(ModelProto model)
    {
        Model = model;
        Graph = model.Graph;
        foreach (var t in Graph.Initializer)
        {
            initializers[t.Name] = t;
        }

        foreach (var node in Graph.Node)
        {
            foreach (var output in node.Output)
            {
                if (output.Length > 0)
                {
                    producers[output] = node;
                }
            }

            foreach (var input in node.Input)
            {
                if (input.Length == 0)
                {
                    continue;
                }

                if (!consumers.TryGetValue(input, out var list))
                {
                    consumers[input] = list = [];
                }

                list.Add(node);
            }
        }

        TopologicalOrder = SortTopologically();
        OpsetVersion = model.OpsetImport.FirstOrDefault(o => string.IsNullOrEmpty(o.Domain) || o.Domain == "ai.onnx")?.Version ?? 1;
    }

    public ModelProto Model { get; }

    public GraphProto Graph { get; }

    /// <summary>The version of the default ("ai.onnx") operator set the model was exported with.</summary>
    public long OpsetVersion { get; }

    public IReadOnlyList<NodeProto> TopologicalOrder { get; }

    /// <summary>Graph inputs that are real inputs, not initializers listed as inputs (IR version 3 models do that).</summary>
    public IEnumerable<ValueInfoProto> RealInputs => Graph.Input.Where(i => !initializers.ContainsKey(i.Name));

    public bool IsInitializer(string name) => initializers.ContainsKey(name);

    public TensorProto? Initializer(string name) => initializers.GetValueOrDefault(name);

    public NodeProto? Producer(string tensor) => producers.GetValueOrDefault(tensor);

    /// <summary>The value of an initializer or of a Constant node's output; null for computed tensors.</summary>
    public TensorProto? ConstantValue(string tensor) =>
        tensor.Length == 0 ? null
        : Initializer(tensor) ?? (Producer(tensor) is { OpType: "Constant" } producer ? producer.Find("value")?.T : null);

    public IReadOnlyList<NodeProto> Consumers(string tensor) =>
        consumers.TryGetValue(tensor, out var list) ? list : [];

    public bool IsGraphOutput(string tensor) => Graph.Output.Any(o => o.Name == tensor);

    /// <summary>The nodes that <paramref name="targets"/> depend on, in topological order.</summary>
    public IReadOnlyList<NodeProto> Ancestors(IEnumerable<string> targets)
    {
        var needed = new HashSet<NodeProto>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<string>(targets);
        while (stack.Count > 0)
        {
            var name = stack.Pop();
            if (producers.TryGetValue(name, out var node) && needed.Add(node))
            {
                foreach (var input in node.Input)
                {
                    if (input.Length > 0)
                    {
                        stack.Push(input);
                    }
                }
            }
        }

        return TopologicalOrder.Where(needed.Contains).ToList();
    }

    /// <summary>
    /// A model that computes only <paramref name="tensor"/>: the nodes it depends on, the
    /// initializers they read, the graph inputs, and the tensor as the one output.
    /// </summary>
    public ModelProto Truncate(string tensor) => Truncate([tensor]);

    /// <summary>A model that computes only <paramref name="tensors"/>, its outputs in the order given.</summary>
    public ModelProto Truncate(IReadOnlyList<string> tensors)
    {
        foreach (var tensor in tensors)
        {
            if (Producer(tensor) is null)
            {
                throw new UnknownLayerException($"the model has no tensor '{tensor}'.");
            }
        }

        var nodes = Ancestors(tensors);
        var used = new HashSet<string>(nodes.SelectMany(n => n.Input), StringComparer.Ordinal);
        var graph = new GraphProto { Name = Graph.Name };
        graph.Node.Add(nodes.Select(n => n.Clone()));
        graph.Initializer.Add(Graph.Initializer.Where(t => used.Contains(t.Name)).Select(t => t.Clone()));
        graph.Input.Add(RealInputs.Where(i => used.Contains(i.Name)).Select(i => i.Clone()));
        graph.Output.Add(tensors.Select(t => new ValueInfoProto { Name = t }));
        var model = new ModelProto { IrVersion = Model.IrVersion, ProducerName = Model.ProducerName, Graph = graph };
        model.OpsetImport.Add(Model.OpsetImport.Select(o => o.Clone()));
        return model;
    }

    private List<NodeProto> SortTopologically()
    {
        // Kahn's algorithm, stable with respect to the file's order so that ids and reports are reproducible.
        var nodes = Graph.Node;
        var pending = new Dictionary<NodeProto, int>(ReferenceEqualityComparer.Instance);
        foreach (var node in nodes)
        {
            pending[node] = node.Input.Count(i => i.Length > 0 && producers.ContainsKey(i));
        }

        var ready = new Queue<NodeProto>(nodes.Where(n => pending[n] == 0));
        var order = new List<NodeProto>(nodes.Count);
        while (ready.Count > 0)
        {
            var node = ready.Dequeue();
            order.Add(node);
            foreach (var output in node.Output)
            {
                foreach (var consumer in Consumers(output).Distinct(ReferenceEqualityComparer.Instance).Cast<NodeProto>())
                {
                    // A node may read the same tensor twice; count each edge once per input slot.
                    var edges = consumer.Input.Count(i => i == output);
                    pending[consumer] -= edges;
                    if (pending[consumer] == 0)
                    {
                        ready.Enqueue(consumer);
                    }
                }
            }
        }

        if (order.Count != nodes.Count)
        {
            throw new ModelFormatException("the graph has a cycle, which ONNX does not allow.");
        }

        return order;
    }
}
