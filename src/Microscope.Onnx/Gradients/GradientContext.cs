using Microscope.Onnx.Proto;
using DataType = Microscope.Onnx.Proto.TensorProto.Types.DataType;

namespace Microscope.Onnx.Gradients;

/// <summary>
/// What a gradient rule sees and uses: the forward graph (upgraded to one opset, truncated to the
/// target layer, with the objective appended), reference shapes measured on a probe run, and an
/// emitter for the backward nodes. Rules emit standard ONNX ops only; shapes that vary with the
/// input (batch, height, width) are computed in the graph with Shape, never baked in.
/// </summary>
public sealed class GradientContext
{
    private readonly Dictionary<string, List<string>> contributions = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> finalGradients = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> shapeCache = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long[]> shapes;
    private readonly HashSet<string> active;
    private readonly GraphEmitter emitter;

    internal GradientContext(OnnxGraph forward, HashSet<string> active, Dictionary<string, long[]> shapes, DataType elementType)
    {
        Forward = forward;
        this.active = active;
        this.shapes = shapes;
        ElementType = elementType;
        emitter = new GraphEmitter("grad/", GraphEmitter.NamesIn(forward.Model.Graph));
    }

    public OnnxGraph Forward { get; }

    /// <summary>The graph's redirect switch (a scalar input), or null when it was built without one.</summary>
    public string? ReluRedirect { get; init; }

    /// <summary>The float type of the image and of every gradient (float, or double in tests).</summary>
    public DataType ElementType { get; }

    /// <summary>The backward nodes emitted so far.</summary>
    public List<NodeProto> Nodes => emitter.Nodes;

    /// <summary>The backward pass's constants.</summary>
    public List<TensorProto> Initializers => emitter.Initializers;

    /// <summary>True when the tensor depends on the image through differentiable ops.</summary>
    public bool IsActive(string tensor) => tensor.Length > 0 && active.Contains(tensor);

    /// <summary>The tensor's shape on the probe run (batch 2, the reference image size).</summary>
    public long[] ReferenceShape(string tensor) =>
        shapes.TryGetValue(tensor, out var shape) ? shape : throw new InvalidOperationException($"no reference shape for tensor '{tensor}'.");

    public int Rank(string tensor) => ReferenceShape(tensor).Length;

    /// <summary>The numpy-broadcast shape of two reference shapes.</summary>
    public static long[] Broadcast(long[] a, long[] b)
    {
        var rank = Math.Max(a.Length, b.Length);
        var result = new long[rank];
        for (var i = 0; i < rank; i++)
        {
            var x = i - (rank - a.Length) >= 0 ? a[i - (rank - a.Length)] : 1;
            var y = i - (rank - b.Length) >= 0 ? b[i - (rank - b.Length)] : 1;
            result[i] = Math.Max(x, y);
        }

        return result;
    }

    /// <summary>Padding at the start of each spatial axis of a Conv or pool node, as an int64 tensor (computed at run time for auto_pad SAME).</summary>
    public string BeginPads(NodeProto node, string input, long[] kernel, long[] strides, long[] dilations)
    {
        var spatial = kernel.Length;
        var autoPad = node.String("auto_pad", "NOTSET");
        if (autoPad is "SAME_UPPER" or "SAME_LOWER")
        {
            // out = ceil(in / s); total = max(0, (out - 1) * s + (k - 1) * d + 1 - in)
            var size = Dims(input, 2, 2 + spatial);
            var s = Ints(strides);
            var effective = Ints([.. kernel.Select((k, i) => ((k - 1) * dilations[i]) + 1)]);
            var outSize = Emit("Div", [Emit("Sub", [Emit("Add", [size, s]), Ints([.. strides.Select(_ => 1L)])]), s]);
            var total = Emit("Max", [Emit("Sub", [Emit("Add", [Emit("Mul", [Emit("Sub", [outSize, Ints([.. strides.Select(_ => 1L)])]), s]), effective]), size]), Ints(new long[spatial])]);
            var half = Emit("Div", [total, Ints([.. strides.Select(_ => 2L)])]);
            return autoPad == "SAME_UPPER" ? half : Emit("Sub", [total, half]);
        }

        if (autoPad == "VALID")
        {
            return Ints(new long[spatial]);
        }

        var pads = node.Ints("pads") ?? new long[spatial * 2];
        return Ints(pads[..spatial]);
    }

    /// <summary>Crops the spatial axes of <paramref name="tensor"/> to [begin, begin + size of <paramref name="like"/>).</summary>
    public string CropSpatial(string tensor, string begin, string like, int spatial)
    {
        var end = Emit("Add", [begin, Dims(like, 2, 2 + spatial)]);
        return Emit("Slice", [tensor, begin, end, Ints([.. Enumerable.Range(2, spatial).Select(i => (long)i)])]);
    }

    internal void SetReferenceShape(string tensor, long[] shape) => shapes[tensor] = shape;

    /// <summary>The value of an initializer or Constant output; null for computed tensors.</summary>
    public TensorProto? ConstantValue(string tensor) => Forward.ConstantValue(tensor);

    // ---- gradients ----

    /// <summary>The gradient flowing into output <paramref name="index"/> of <paramref name="node"/>, or null.</summary>
    public string? OutputGradient(NodeProto node, int index = 0) =>
        index < node.Output.Count ? GradientOf(node.Output[index]) : null;

    /// <summary>The summed gradient of a tensor (emitting the sum on first request), or null when none reached it.</summary>
    public string? GradientOf(string tensor)
    {
        if (finalGradients.TryGetValue(tensor, out var done))
        {
            return done;
        }

        if (!contributions.TryGetValue(tensor, out var parts) || parts.Count == 0)
        {
            return null;
        }

        var sum = parts.Count == 1 ? parts[0] : Emit("Sum", [.. parts]);
        finalGradients[tensor] = sum;
        return sum;
    }

    /// <summary>Adds a contribution to the gradient of <paramref name="tensor"/> (ignored when the tensor is not active).</summary>
    public void Accumulate(string tensor, string gradient)
    {
        if (!IsActive(tensor))
        {
            return;
        }

        if (finalGradients.ContainsKey(tensor))
        {
            throw new InvalidOperationException($"gradient of '{tensor}' was read before all its contributions arrived.");
        }

        if (!contributions.TryGetValue(tensor, out var parts))
        {
            contributions[tensor] = parts = [];
        }

        parts.Add(gradient);
    }

    // ---- emission ----

    public string Fresh(string hint = "t") => emitter.Fresh(hint);

    public string Emit(string op, string[] inputs, params AttributeProto[] attributes) => emitter.Node(op, inputs, attributes);

    public string[] EmitMany(string op, string[] inputs, int outputs, params AttributeProto[] attributes) => emitter.Node(op, inputs, outputs, attributes);

    /// <summary>Writes <paramref name="tensor"/> to the graph output <paramref name="output"/>.</summary>
    internal void Output(string tensor, string output) => emitter.Named("grad/output", "Identity", [tensor], [output]);

    /// <summary>A scalar constant of the element type.</summary>
    public string Scalar(double value) => Constant([], [value]);

    /// <summary>A constant of the element type.</summary>
    public string Constant(long[] dims, double[] values) => emitter.Constant(ElementType, dims, values);

    /// <summary>A float32 vector (Resize scales are float whatever the element type).</summary>
    public string Floats(params float[] values) => emitter.Floats(values);

    public string Ints(params long[] values) => emitter.Ints(values);

    /// <summary>Shape(tensor), emitted once per tensor.</summary>
    public string Shape(string tensor)
    {
        if (!shapeCache.TryGetValue(tensor, out var shape))
        {
            shapeCache[tensor] = shape = Emit("Shape", [tensor]);
        }

        return shape;
    }

    /// <summary>Dimensions [start, end) of Shape(tensor) as an int64 vector.</summary>
    public string Dims(string tensor, int start, int end) => Emit("Slice", [Shape(tensor), Ints(start), Ints(end), Ints(0)]);

    public string Cast(string tensor, DataType to) => Emit("Cast", [tensor], NodeAttributes.IntAttribute("to", (long)to));

    /// <summary>Zeros shaped like <paramref name="tensor"/>, of the element type.</summary>
    public string ZerosLike(string tensor) =>
        Emit("ConstantOfShape", [Shape(tensor)], NodeAttributes.TensorAttribute("value", Tensors.OfType(ElementType, "zero", [1], [0])));

    public string OnesLike(string tensor) =>
        Emit("ConstantOfShape", [Shape(tensor)], NodeAttributes.TensorAttribute("value", Tensors.OfType(ElementType, "one", [1], [1])));

    public string Mul(string a, string b) => Emit("Mul", [a, b]);

    public string Div(string a, string b) => Emit("Div", [a, b]);

    public string Add(string a, string b) => Emit("Add", [a, b]);

    public string Sub(string a, string b) => Emit("Sub", [a, b]);

    public string Neg(string a) => Emit("Neg", [a]);

    public string ReduceSum(string tensor, long[] axes, bool keepDims) =>
        Emit("ReduceSum", [tensor, Ints(axes)], NodeAttributes.IntAttribute("keepdims", keepDims ? 1 : 0));

    /// <summary>A float mask (1 where the condition holds) from a boolean tensor.</summary>
    public string Mask(string condition) => Cast(condition, ElementType);

    /// <summary>Transposes the last two axes of a tensor of rank <paramref name="rank"/>.</summary>
    public string TransposeLastTwo(string tensor, int rank)
    {
        var perm = Enumerable.Range(0, rank).Select(i => (long)i).ToArray();
        (perm[rank - 1], perm[rank - 2]) = (perm[rank - 2], perm[rank - 1]);
        return Emit("Transpose", [tensor], NodeAttributes.IntsAttribute("perm", perm));
    }

    /// <summary>
    /// Sums a gradient over the axes along which <paramref name="target"/> was broadcast, and gives it
    /// the target's shape (numpy broadcasting, as ONNX ops use). Which axes were broadcast is read from
    /// the probe run, which uses a batch of two so that batch broadcasting is seen.
    /// </summary>
    public string Unbroadcast(string gradient, long[] gradientShape, string target)
    {
        var full = gradientShape;
        var small = ReferenceShape(target);
        var lead = full.Length - small.Length;
        var axes = new List<long>();
        for (var i = 0; i < full.Length; i++)
        {
            if (i < lead || (small[i - lead] == 1 && full[i] != 1))
            {
                axes.Add(i);
            }
        }

        if (axes.Count == 0)
        {
            return gradient;
        }

        var summed = ReduceSum(gradient, [.. axes], keepDims: true);
        return lead == 0 ? summed : Emit("Reshape", [summed, Shape(target)]);
    }
}
