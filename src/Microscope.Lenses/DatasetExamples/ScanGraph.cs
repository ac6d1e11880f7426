using Microscope.Inference;
using Microscope.Onnx;
using Microscope.Onnx.Proto;

namespace Microscope.Lenses.DatasetExamples;

/// <summary>
/// The model a dataset scan runs: the layers' ancestors, with each feature map reduced inside the
/// graph to its spatial maximum and the position of that maximum, so that only N×C values per layer
/// leave ONNX Runtime instead of N×C×H×W (resnet18's 34 layers hold about 2.4 million activations
/// per image at 224², which a host loop would otherwise copy out and walk). The position is the
/// first maximum in row-major order (ArgMax without select_last_index), as the host loop
/// <see cref="DatasetScanner"/> used to find it, so scans before and after agree exactly.
/// Only ops whose signature is the same in every opset from 13 on (Reshape, ArgMax with its axis
/// attribute, GatherElements) are used: ReduceMax moved its axes to an input in opset 18.
/// </summary>
internal sealed class ScanGraph
{
    private ScanGraph(byte[] model, IReadOnlyList<string> outputs, IReadOnlyList<(int Maxima, int Positions, int Shape)> reads) => (Model, Outputs, Reads) = (model, outputs, reads);

    /// <summary>The serialized model.</summary>
    public byte[] Model { get; }

    /// <summary>The outputs to fetch, each once.</summary>
    public IReadOnlyList<string> Outputs { get; }

    /// <summary>
    /// Per layer, where its figures are among <see cref="Outputs"/>: for a feature map, its maxima
    /// (N×C×1, float), their flat positions (N×C×1, int64) and the map's shape (N, C, H, W: the
    /// width turns a position into x and y at whatever size the scan feeds); for a vector layer
    /// (N×K), the layer itself, and no positions or shape (−1).
    /// </summary>
    public IReadOnlyList<(int Maxima, int Positions, int Shape)> Reads { get; }

    public static ScanGraph Build(OnnxGraph graph, IReadOnlyList<Layer> layers)
    {
        var model = graph.Truncate([.. layers.Select(l => l.Tensor).Distinct(StringComparer.Ordinal)]);
        model.Graph.Output.Clear();
        var emit = new GraphEmitter("microscope/scan/", GraphEmitter.NamesIn(model.Graph));
        var flatShape = emit.Ints(0, 0, -1);
        var outputs = new List<string>();
        var reads = new List<(int, int, int)>();
        int Output(string name)
        {
            var index = outputs.IndexOf(name);
            if (index < 0)
            {
                outputs.Add(name);
                index = outputs.Count - 1;
            }

            return index;
        }

        foreach (var layer in layers)
        {
            if (!layer.IsSpatial)
            {
                reads.Add((Output(layer.Tensor), -1, -1));
                continue;
            }

            var shape = emit.Node("Shape", [layer.Tensor]);
            var flat = emit.Node("Reshape", [layer.Tensor, flatShape]);
            var position = emit.Node("ArgMax", [flat], NodeAttributes.IntAttribute("axis", 2), NodeAttributes.IntAttribute("keepdims", 1));
            var maximum = emit.Node("GatherElements", [flat, position], NodeAttributes.IntAttribute("axis", 2));
            reads.Add((Output(maximum), Output(position), Output(shape)));
        }

        model.Graph.Node.Add(emit.Nodes);
        model.Graph.Initializer.Add(emit.Initializers);
        model.Graph.Output.Add(outputs.Select(o => new ValueInfoProto { Name = o }));
        return new ScanGraph(OnnxModelFile.ToBytes(model), outputs, reads);
    }
}
