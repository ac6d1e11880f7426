using Microscope.Onnx.Proto;
using DataType = Microscope.Onnx.Proto.TensorProto.Types.DataType;

namespace Microscope.Onnx;

/// <summary>
/// A model with its preprocessing folded in: one graph whose only input is <see cref="ImageInput"/>,
/// RGB in [0, 1], N×3×H×W. Every lens feeds this graph, so every model looks the same to the
/// renderers, and gradients with respect to the image flow through the preprocessing.
/// </summary>
public sealed class VisionGraph
{
    public const string ImageInput = "image";

    /// <summary>Names of nodes and tensors that the composition adds start with this; they are never layers.</summary>
    public const string ReservedPrefix = "microscope/";

    private const string Prefix = ReservedPrefix;

    private VisionGraph(ModelProto model, InputSpec spec, string modelInput, IReadOnlyList<string> assumptions)
    {
        ModelInput = modelInput;
        Model = model;
        Spec = spec;
        Assumptions = assumptions;
        Graph = new OnnxGraph(model);
    }

    /// <summary>The composed model. Its graph outputs are the original model's outputs.</summary>
    public ModelProto Model { get; }

    public OnnxGraph Graph { get; private set; }

    public InputSpec Spec { get; }

    /// <summary>The name of the original model's image input, which the composed graph feeds.</summary>
    public string ModelInput { get; }

    /// <summary>What was inferred rather than read from a manifest, in words, for the user.</summary>
    public IReadOnlyList<string> Assumptions { get; }

    /// <summary>
    /// Adds nodes that read the model's tensors (a layer's canonical view, see
    /// <see cref="Layout.LayerLayouts.View"/>); nodes whose outputs exist already are skipped, so
    /// a catalog built twice over one graph adds its views once. Their names must start with
    /// <see cref="ReservedPrefix"/>, so they are never taken for layers.
    /// </summary>
    public void Append(IEnumerable<NodeProto> nodes, IEnumerable<TensorProto> initializers)
    {
        var added = false;
        foreach (var t in initializers.Where(t => !Graph.IsInitializer(t.Name)))
        {
            Model.Graph.Initializer.Add(t);
            added = true;
        }

        foreach (var node in nodes.Where(n => Graph.Producer(n.Output[0]) is null))
        {
            if (!node.Name.StartsWith(ReservedPrefix, StringComparison.Ordinal))
            {
                throw new ArgumentException($"an added node's name must start with '{ReservedPrefix}': {node.Name}");
            }

            Model.Graph.Node.Add(node);
            added = true;
        }

        if (added)
        {
            Graph = new OnnxGraph(Model);
        }
    }

    /// <summary>
    /// Composes <paramref name="model"/> with the preprocessing that <paramref name="spec"/> describes.
    /// </summary>
    /// <param name="preprocessing">The preprocessing model named by the spec, already loaded, or null.</param>
    public static VisionGraph Compose(ModelProto model, InputSpec spec, ModelProto? preprocessing, string source, IReadOnlyList<string>? assumptions = null)
    {
        spec.Validate(source);

        // One opset for every graph we build (see OpsetUpgrader): recent ops let the preprocessing adapt to any size.
        model = OpsetUpgrader.Upgrade(model, source);
        preprocessing = preprocessing is null ? null : OpsetUpgrader.Upgrade(preprocessing, source + " (preprocessing)");
        var original = new OnnxGraph(model);
        var input = FindImageInput(original, spec, source);
        var composed = model.Clone();
        var graph = composed.Graph;
        graph.Input.Clear();
        graph.ValueInfo.Clear();

        var prelude = new GraphEmitter(Prefix, GraphEmitter.NamesIn(graph));

        // 1. Channel order and value range as one 1×1 convolution: y_c = a_c * image_src(c) + b_c.
        //    With no preprocessing model, mean and std fold into the same a and b.
        var colour = spec.ColorOrder == "BGR" ? new[] { 2, 1, 0 } : [0, 1, 2];
        var (lo, hi) = (spec.Range[0], spec.Range[1]);
        var weights = new float[9];
        var bias = new float[3];
        for (var c = 0; c < 3; c++)
        {
            var std = preprocessing is null ? spec.Std[c] : 1;
            var mean = preprocessing is null ? spec.Mean[c] : 0;
            weights[(c * 3) + colour[c]] = (float)((hi - lo) / std);
            bias[c] = (float)((lo - mean) / std);
        }

        var colourWeight = prelude.Initializer(Tensors.Float(Prefix + "colour_weight", [3, 3, 1, 1], weights));
        var colourBias = prelude.Initializer(Tensors.Float(Prefix + "colour_bias", [3], bias));
        var scaled = Prefix + "scaled";
        prelude.Named(Prefix + "colour", "Conv", [ImageInput, colourWeight, colourBias], [scaled]);

        // 2. The organism's own preprocessing model, inlined with its names prefixed.
        var current = scaled;
        if (preprocessing is not null)
        {
            current = Inline(preprocessing, current, prelude, spec, source);
        }

        // 3. Layout: the model may want channels last.
        if (spec.Layout == "NHWC")
        {
            var transposed = Prefix + "nhwc";
            prelude.Named(Prefix + "to_nhwc", "Transpose", [current], [transposed], NodeAttributes.IntsAttribute("perm", 0, 2, 3, 1));
            current = transposed;
        }

        // 4. Feed the model: every reader of its image input now reads the preprocessed tensor.
        foreach (var node in graph.Node)
        {
            for (var i = 0; i < node.Input.Count; i++)
            {
                if (node.Input[i] == input.Name)
                {
                    node.Input[i] = current;
                }
            }
        }

        var elementType = input.Type?.TensorType?.ElemType ?? (int)DataType.Float;
        if (elementType != (int)DataType.Float)
        {
            throw new ModelFormatException($"{source}: the image input '{input.Name}' is of type {(DataType)elementType}; only float image inputs are supported.");
        }

        var nodes = prelude.Nodes.Concat(graph.Node).ToList();
        graph.Node.Clear();
        graph.Node.Add(nodes);
        graph.Initializer.Add(prelude.Initializers);
        graph.Input.Add(ImageValueInfo());
        foreach (var output in graph.Output)
        {
            // Output shapes of the file may pin the batch size; ONNX Runtime infers them again.
            if (output.Type?.TensorType is { } tensorType)
            {
                tensorType.Shape = null;
            }
        }

        return new VisionGraph(composed, spec, input.Name, assumptions ?? []);
    }

    /// <summary>The model's image input: named by the spec, or the single 4-D float input.</summary>
    public static ValueInfoProto FindImageInput(OnnxGraph graph, InputSpec spec, string source)
    {
        var inputs = graph.RealInputs.ToList();
        if (spec.Name is not null)
        {
            return inputs.FirstOrDefault(i => i.Name == spec.Name)
                ?? throw new ModelFormatException($"{source}: the manifest names the image input '{spec.Name}', but the model's inputs are: {string.Join(", ", inputs.Select(i => i.Name))}.");
        }

        var images = inputs.Where(IsImageLike).ToList();
        return images.Count switch
        {
            1 when inputs.Count == 1 => images[0],
            0 => throw new ModelFormatException($"{source}: the model has no image-like input (a 4-D float tensor N×3×H×W or N×H×W×3); its inputs are: {Describe(inputs)}."),
            _ => throw new ModelFormatException($"{source}: the model has several inputs ({Describe(inputs)}); give a manifest that names the image input."),
        };
    }

    public static bool IsImageLike(ValueInfoProto input)
    {
        var tensor = input.Type?.TensorType;
        if (tensor is null || tensor.ElemType != (int)DataType.Float || tensor.Shape is null || tensor.Shape.Dim.Count != 4)
        {
            return false;
        }

        var dims = tensor.Shape.Dim;
        bool IsThreeOrFree(int i) => !dims[i].HasDimValue || dims[i].DimValue == 3;
        return IsThreeOrFree(1) || IsThreeOrFree(3);
    }

    public static string Describe(IEnumerable<ValueInfoProto> inputs) =>
        string.Join(", ", inputs.Select(i => $"{i.Name} {Shape(i)}"));

    public static string Shape(ValueInfoProto value)
    {
        var tensor = value.Type?.TensorType;
        if (tensor?.Shape is null)
        {
            return "(no shape)";
        }

        var dims = tensor.Shape.Dim.Select(d => d.HasDimValue ? d.DimValue.ToString(System.Globalization.CultureInfo.InvariantCulture) : d.HasDimParam ? d.DimParam : "?");
        return $"{(DataType)tensor.ElemType}[{string.Join(",", dims)}]";
    }

    private static string Inline(ModelProto preprocessing, string input, GraphEmitter prelude, InputSpec spec, string source)
    {
        var prep = new OnnxGraph(preprocessing);
        var prepInputs = prep.RealInputs.ToList();
        if (prepInputs.Count != 1 || preprocessing.Graph.Output.Count != 1)
        {
            throw new ModelFormatException($"{source}: a preprocessing model must have one input and one output.");
        }

        var prepInput = prepInputs[0].Name;
        string Rename(string name) => name.Length == 0 ? name : name == prepInput ? input : Prefix + "prep/" + name;
        var dims = prepInputs[0].Type?.TensorType?.Shape?.Dim;
        var spatial = dims is { Count: 4 } && dims[2].HasDimValue && dims[3].HasDimValue ? (dims[2].DimValue, dims[3].DimValue) : ((long, long)?)null;
        if (spatial is { } pinned && (pinned.Item1 != spec.Height || pinned.Item2 != spec.Width))
        {
            throw new ModelFormatException($"{source}: the preprocessing model takes {pinned.Item1}×{pinned.Item2} images, but the manifest's size is {spec.Height}×{spec.Width}.");
        }

        // Constants drawn at the preprocessing model's fixed size (a mean image) are resized to the
        // image's size at run time, bilinearly; at the native size this is exact. So the composed
        // graph takes any size, as every lens needs.
        var adapted = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var t in preprocessing.Graph.Initializer)
        {
            var copy = t.Clone();
            copy.Name = Rename(t.Name);
            prelude.Initializer(copy);
            if (spatial is { } size && t.Dims.Count >= 2 && t.Dims[^2] == size.Item1 && t.Dims[^1] == size.Item2)
            {
                var rank = t.Dims.Count;
                var name = Prefix + "prep/" + t.Name;
                var leading = prelude.Initializer(Tensors.Int64Vector(name + "/leading", [.. t.Dims.Take(rank - 2)]));
                var two = prelude.Initializer(Tensors.Int64Vector(name + "/two", 2));
                var four = prelude.Initializer(Tensors.Int64Vector(name + "/four", 4));
                var zero = prelude.Initializer(Tensors.Int64Vector(name + "/zero", 0));
                var imageShape = prelude.Node("Shape", [input], name + "/image_shape");
                var imageSize = prelude.Node("Slice", [imageShape, two, four, zero], name + "/image_size");
                var sizes = prelude.Node("Concat", [leading, imageSize], name + "/sizes", NodeAttributes.IntAttribute("axis", 0));
                adapted[copy.Name] = prelude.Node(
                    "Resize", [copy.Name, "", "", sizes], name + "/resized",
                    NodeAttributes.StringAttribute("mode", "linear"), NodeAttributes.StringAttribute("coordinate_transformation_mode", "half_pixel"));
            }
        }

        var index = 0;
        foreach (var node in prep.TopologicalOrder)
        {
            var copy = node.Clone();
            copy.Name = Prefix + "prep/" + (string.IsNullOrEmpty(node.Name) ? node.OpType + "_" + index : node.Name);
            index++;
            for (var i = 0; i < copy.Input.Count; i++)
            {
                var renamed = Rename(copy.Input[i]);
                copy.Input[i] = adapted.GetValueOrDefault(renamed, renamed);
            }

            for (var i = 0; i < copy.Output.Count; i++)
            {
                copy.Output[i] = Rename(copy.Output[i]);
            }

            prelude.Copy(copy);
        }

        return Rename(preprocessing.Graph.Output[0].Name);
    }

    private static ValueInfoProto ImageValueInfo()
    {
        var shape = new TensorShapeProto();
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = "batch" });
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = 3 });
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = "height" });
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = "width" });
        return new ValueInfoProto
        {
            Name = ImageInput,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)DataType.Float, Shape = shape } },
        };
    }
}
