using Microscope.Onnx.Proto;
using DataType = Microscope.Onnx.Proto.TensorProto.Types.DataType;

namespace Microscope.Onnx.Gradients;

/// <summary>Measures tensor shapes by running a model once (ONNX Runtime, in Microscope.Inference).</summary>
/// <param name="model">A model whose only input is the image.</param>
/// <param name="tensors">The tensors to measure.</param>
/// <param name="batch">The batch size of the probe image.</param>
public delegate IReadOnlyDictionary<string, long[]> ShapeProbe(ModelProto model, IReadOnlyList<string> tensors, int batch);

/// <summary>What to build.</summary>
/// <param name="LayerTensor">The ONNX tensor of the target layer.</param>
/// <param name="Terms">The objective terms the graph computes (each adds its parameter inputs).</param>
/// <param name="IncludeActivations">Also output the layer's activations.</param>
/// <param name="ReluRedirect">
/// Give the graph the scalar input <see cref="ObjectiveNames.ReluRedirect"/>, which switches Relu and
/// Clip between Lucid's redirected gradient and the true one, so that one graph serves both phases
/// of a feature visualization.
/// </param>
public sealed record GradientRequest(string LayerTensor, ObjectiveTerms Terms = ObjectiveTerms.Linear, bool IncludeActivations = false, bool ReluRedirect = false);

/// <summary>A built gradient graph and what a caller needs to feed it.</summary>
/// <param name="Model">Inputs: image (N×3×H×W, RGB in [0, 1]) and the objective's parameters; outputs: objective (N) and image_grad (N×3×H×W).</param>
/// <param name="LayerShape">The layer's activation shape for one image at the reference size: C×H×W, or K.</param>
/// <param name="ForwardNodes">Names of the model's nodes kept in the truncated forward pass.</param>
/// <param name="ForwardElementsPerImage">
/// Elements per image, at the reference size, of the forward tensors the reverse pass reads: the
/// image and every output of a node on the differentiable path (a MaxPool's indices too), measured on
/// the probe (batch 2) and halved. Weights and shape arithmetic do not grow with the batch and are
/// left out. What a render's memory grows by per image is estimated from it (Microscope.Lenses).
/// </param>
public sealed record GradientModel(ModelProto Model, GradientRequest Request, long[] LayerShape, IReadOnlyList<string> ForwardNodes, long Opset, long ForwardElementsPerImage);

/// <summary>
/// Builds, from a model with its preprocessing folded in (<see cref="VisionGraph"/>), a new ONNX
/// model that returns an objective on one layer and its gradient with respect to the image, made
/// only of standard ONNX ops, so that ONNX Runtime runs it on CPU or CUDA. Reverse-mode
/// differentiation: the forward pass is truncated to what the layer needs, the objective is
/// appended, and each op's rule emits its backward nodes in reverse topological order.
/// </summary>
public static class GradientBuilder
{
    /// <summary>Builds the gradient graph of a layer of a model with its preprocessing folded in.</summary>
    public static GradientModel Build(VisionGraph vision, GradientRequest request, ShapeProbe probe, string layerId) =>
        Build(vision.Model, vision.Spec.Height, vision.Spec.Width, request, probe, layerId);

    /// <summary>
    /// Builds the gradient graph of a layer of <paramref name="model"/>, whose one input is
    /// <see cref="VisionGraph.ImageInput"/> (N×3×H×W of float, or double in tests).
    /// </summary>
    /// <param name="height">Reference height: the probe runs at this size; the built graph accepts any.</param>
    /// <param name="width">Reference width.</param>
    public static GradientModel Build(ModelProto model, int height, int width, GradientRequest request, ShapeProbe probe, string layerId)
    {
        var upgraded = OpsetUpgrader.Upgrade(model, layerId);
        var full = new OnnxGraph(upgraded);
        var target = request.LayerTensor;
        if (full.Producer(target) is null)
        {
            throw new UnknownLayerException($"the model has no tensor '{target}' (layer '{layerId}').");
        }

        // 1. Truncate: only what the layer needs.
        var kept = full.Ancestors([target]).Select(n => n.Clone()).ToList();
        var forwardNames = new GraphEmitter("microscope/fwd/", GraphEmitter.NamesIn(upgraded.Graph));

        // 2. Which nodes lie on a differentiable path from the image to the layer, and does each have a
        // rule? A node is on it when it reads the image's influence forward (through ops that pass a
        // gradient) and the layer reads it backward (likewise). Constant lookups (a Gather of a
        // relative-position table) fail the first test, shape arithmetic on an active tensor fails the
        // second: neither needs a rule.
        var needed = new HashSet<string>(StringComparer.Ordinal) { target };
        for (var i = kept.Count - 1; i >= 0; i--)
        {
            if (PassesGradient(kept[i]) && kept[i].Output.Any(needed.Contains))
            {
                needed.UnionWith(kept[i].Input.Where(n => n.Length > 0));
            }
        }

        var active = new HashSet<string>(StringComparer.Ordinal) { VisionGraph.ImageInput };
        var missing = new List<string>();
        foreach (var node in kept)
        {
            if (!CarriesGradient(node, active) || !node.Output.Any(needed.Contains))
            {
                continue;
            }

            var rule = GradientRules.For(node.OpType);
            if (rule is null || (!string.IsNullOrEmpty(node.Domain) && node.Domain != "ai.onnx"))
            {
                missing.Add($"{node.OpType} (node '{node.Name}')");
                continue;
            }

            rule.PrepareForward(node, forwardNames.Fresh);
            active.Add(node.Output[0]);
            if (node.OpType == "Split")
            {
                foreach (var output in node.Output)
                {
                    active.Add(output);
                }
            }
        }

        if (missing.Count > 0)
        {
            throw new ModelFormatException(
                $"cannot differentiate layer '{layerId}': no gradient rule for {string.Join(", ", missing.Distinct())} on the path from the image to the layer. " +
                $"Supported ops: {string.Join(", ", GradientRules.SupportedOps)}. Forward-only lenses (dataset examples, tuning curves) still work.");
        }

        if (!active.Contains(target))
        {
            throw new ModelFormatException($"layer '{layerId}' does not depend on the image differentiably; there is no gradient to build.");
        }

        // 3. Measure every tensor of the truncated pass on a probe (batch 2 shows batch broadcasting).
        var imageInput = model.Graph.Input.FirstOrDefault(i => i.Name == VisionGraph.ImageInput)
            ?? throw new ModelFormatException($"the model has no input named '{VisionGraph.ImageInput}'; compose it with VisionGraph first.");
        var elementType = (DataType)imageInput.Type.TensorType.ElemType;
        var forward = NewModel(upgraded, kept, request, elementType, includeObjective: false);
        var measured = kept.SelectMany(n => n.Output).Where(o => o.Length > 0).Distinct().ToList();
        var shapes = new Dictionary<string, long[]>(probe(forward, measured, 2), StringComparer.Ordinal);
        foreach (var initializer in upgraded.Graph.Initializer)
        {
            shapes.TryAdd(initializer.Name, [.. initializer.Dims]);
        }

        foreach (var node in kept.Where(n => n.OpType == "Constant" && n.Find("value")?.T is not null))
        {
            shapes[node.Output[0]] = [.. node.Find("value")!.T.Dims];
        }

        shapes[VisionGraph.ImageInput] = [2, 3, height, width];
        var layerShape = shapes[target];
        var perImage = kept.Where(n => n.Output.Any(active.Contains)).SelectMany(n => n.Output).Append(VisionGraph.ImageInput).Distinct()
            .Sum(t => shapes.TryGetValue(t, out var s) ? s.Aggregate(1L, (a, d) => a * d) / 2 : 0);

        // 4. The objective.
        var objective = new GraphEmitter("objective/", GraphEmitter.NamesIn(upgraded.Graph));
        new ObjectiveGraph(objective, shapes) { ElementType = elementType }.Build(target, layerShape, request.Terms);
        foreach (var node in objective.Nodes)
        {
            if (CarriesGradient(node, active))
            {
                foreach (var output in node.Output)
                {
                    active.Add(output);
                }
            }
        }

        var built = NewModel(upgraded, [.. kept, .. objective.Nodes], request, elementType, includeObjective: true, layerShape);
        built.Graph.Initializer.Add(objective.Initializers);
        var context = new GradientContext(new OnnxGraph(built), active, shapes, elementType) { ReluRedirect = request.ReluRedirect ? ObjectiveNames.ReluRedirect : null };

        // 5. Reverse pass, seeded with d(Σ objective)/d(objective) = 1.
        context.Accumulate(ObjectiveNames.Objective, context.OnesLike(ObjectiveNames.Objective));
        var order = context.Forward.TopologicalOrder;
        for (var i = order.Count - 1; i >= 0; i--)
        {
            var node = order[i];
            if (!node.Output.Any(context.IsActive) || node.Output.All(o => context.GradientOf(o) is null))
            {
                continue;
            }

            GradientRules.For(node.OpType)!.Backward(node, context);
        }

        var imageGradient = context.GradientOf(VisionGraph.ImageInput)
            ?? throw new ModelFormatException($"layer '{layerId}': no gradient reaches the image.");
        context.Output(imageGradient, ObjectiveNames.ImageGradient);
        built.Graph.Node.Add(context.Nodes);
        built.Graph.Initializer.Add(context.Initializers);
        built.Graph.Output.Add(TensorInfo(ObjectiveNames.ImageGradient, elementType, "batch", 3, "height", "width"));
        if (request.IncludeActivations)
        {
            built.Graph.Output.Add(new ValueInfoProto { Name = target });
        }

        return new GradientModel(built, request, layerShape[1..], kept.Select(n => n.Name).ToList(), new OnnxGraph(built).OpsetVersion, perImage);
    }

    private static ModelProto NewModel(ModelProto upgraded, List<NodeProto> nodes, GradientRequest request, DataType elementType, bool includeObjective, long[]? layerShape = null)
    {
        var graph = new GraphProto { Name = "microscope-gradient" };
        graph.Node.Add(nodes);
        var used = new HashSet<string>(nodes.SelectMany(n => n.Input), StringComparer.Ordinal);
        foreach (var node in nodes)
        {
            foreach (var attribute in node.Attribute.Where(a => a.G is not null))
            {
                used.UnionWith(attribute.G.Node.SelectMany(n => n.Input));
            }
        }

        graph.Initializer.Add(upgraded.Graph.Initializer.Where(t => used.Contains(t.Name)));
        graph.Input.Add(upgraded.Graph.Input.First(i => i.Name == VisionGraph.ImageInput));
        if (includeObjective)
        {
            var rank = layerShape!.Length;
            if (request.Terms.HasFlag(ObjectiveTerms.Linear))
            {
                var dims = new object[rank];
                dims[0] = "batch";
                for (var i = 1; i < rank; i++)
                {
                    dims[i] = rank == 4 && i >= 2 ? (i == 2 ? "layer_height" : "layer_width") : layerShape[i];
                }

                graph.Input.Add(TensorInfo(ObjectiveNames.Weights, elementType, dims));
            }

            if (request.Terms.HasFlag(ObjectiveTerms.L2))
            {
                graph.Input.Add(TensorInfo(ObjectiveNames.L2Weight, elementType, "batch"));
            }

            if (request.Terms.HasFlag(ObjectiveTerms.Diversity))
            {
                graph.Input.Add(TensorInfo(ObjectiveNames.DiversityWeight, elementType));
            }

            if (request.ReluRedirect)
            {
                graph.Input.Add(TensorInfo(ObjectiveNames.ReluRedirect, elementType));
            }

            graph.Output.Add(TensorInfo(ObjectiveNames.Objective, elementType, "batch"));
        }
        else
        {
            graph.Output.Add(new ValueInfoProto { Name = nodes[^1].Output[0] });
        }

        var model = new ModelProto { IrVersion = upgraded.IrVersion, ProducerName = "microscope-gradient-builder", Graph = graph };
        model.OpsetImport.Add(upgraded.OpsetImport);
        return model;
    }

    /// <summary>A tensor's name, element type and dims (numbers, or names of dynamic ones).</summary>
    public static ValueInfoProto TensorInfo(string name, DataType type, params object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
        {
            shape.Dim.Add(d is string param ? new TensorShapeProto.Types.Dimension { DimParam = param } : new TensorShapeProto.Types.Dimension { DimValue = Convert.ToInt64(d, System.Globalization.CultureInfo.InvariantCulture) });
        }

        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } } };
    }

    /// <summary>True when the node reads an active tensor and its output can carry a gradient.</summary>
    private static bool CarriesGradient(NodeProto node, HashSet<string> active) => node.Input.Any(active.Contains) && PassesGradient(node);

    /// <summary>False for ops whose outputs carry no gradient: integer, boolean or piecewise-constant results, and casts to them.</summary>
    private static bool PassesGradient(NodeProto node) =>
        !GradientRules.NonDifferentiable.Contains(node.OpType) && (node.OpType != "Cast" || IsFloat((DataType)node.Int("to", 0)));

    private static bool IsFloat(DataType type) => type is DataType.Float or DataType.Double or DataType.Float16 or DataType.Bfloat16;
}
