using Microscope.Onnx.Proto;

namespace Microscope.Onnx.Layout;

/// <summary>
/// Gives every tensor on the data path from the image its axis roles by following the image's own
/// axes through the graph: batch, colour (the first units), rows and columns start at the image
/// input and move with every layout op (Transpose, Reshape, Flatten, Concat, Slice, Gather, Split,
/// Squeeze, Unsqueeze), while MatMul and Gemm with a weight on the last axis, and convolutions on
/// the channel axis, make a new units axis. Roles are never guessed from a tensor's rank or sizes.
/// Shapes come from one probe run (batch 2, so the batch can be told from a size-1 axis) and only
/// serve to follow reshapes. An op without a rule here makes its output internal: such a tensor is
/// never shown as a layer, which is safe, where a guess would be wrong.
/// </summary>
public static class RolePropagation
{
    private static readonly HashSet<string> SameRoles =
    [
        "Relu", "Clip", "LeakyRelu", "PRelu", "Elu", "Selu", "Celu", "HardSwish", "HardSigmoid", "Sigmoid", "Tanh", "Softplus",
        "Softsign", "Mish", "Gelu", "Erf", "Sqrt", "Reciprocal", "Neg", "Abs", "Exp", "Log", "Sin", "Cos", "Floor", "Ceil", "Round",
        "Identity", "Dropout", "Cast", "CastLike", "Softmax", "LogSoftmax", "LayerNormalization", "BatchNormalization",
        "InstanceNormalization", "LRN", "GroupNormalization", "Shrink", "ThresholdedRelu", "Sign",
    ];

    private static readonly HashSet<string> Broadcasting = ["Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "Mean", "Where"];

    private static readonly HashSet<string> Reshapes = ["Reshape", "Flatten", "Squeeze", "Unsqueeze"];

    private static readonly HashSet<string> Windows = ["Conv", "ConvTranspose", "MaxPool", "AveragePool", "LpPool", "Resize", "Upsample"];

    /// <summary>The roles of every float tensor derived from <paramref name="image"/> whose shape was measured.</summary>
    /// <param name="shapes">Measured shapes of the data tensors, at batch <paramref name="batch"/>.</param>
    public static IReadOnlyDictionary<string, AxisLabels> Run(OnnxGraph graph, string image, IReadOnlyDictionary<string, long[]> shapes, long batch)
    {
        var labels = new Dictionary<string, AxisLabels>(StringComparer.Ordinal);
        if (!shapes.TryGetValue(image, out var imageShape) || imageShape.Length != 4)
        {
            return labels;
        }

        labels[image] = new AxisLabels(
        [
            AxisLabels.Whole(AxisRole.Batch, batch), AxisLabels.Whole(AxisRole.Unit, imageShape[1]),
            AxisLabels.Whole(AxisRole.Row, imageShape[2]), AxisLabels.Whole(AxisRole.Column, imageShape[3]),
        ]);

        foreach (var node in graph.TopologicalOrder)
        {
            if (!node.Input.Any(labels.ContainsKey))
            {
                continue;
            }

            for (var o = 0; o < node.Output.Count; o++)
            {
                var output = node.Output[o];
                if (output.Length == 0 || !shapes.TryGetValue(output, out var shape))
                {
                    continue;
                }

                AxisLabels? result;
                try
                {
                    result = Rule(graph, node, o, labels, shapes, shape);
                }
                catch (Exception e) when (e is InvalidOperationException or ArgumentException or IndexOutOfRangeException)
                {
                    result = null;
                }

                labels[output] = result is not null && Matches(result, shape) ? result : AxisLabels.Internal(shape);
            }
        }

        return labels;
    }

    /// <summary>
    /// True when the model fixes the positions' sizes on the way to <paramref name="tensor"/>: a
    /// reshape that writes rows, columns or tokens out as constants, or a constant as large as the
    /// positions added to them (a position embedding). Such a layer is only computed at the size
    /// the catalog measured, so lenses feed it images of that size.
    /// </summary>
    public static bool FixesSize(OnnxGraph graph, string tensor, IReadOnlyDictionary<string, AxisLabels> labels)
    {
        static bool Positional(IReadOnlyList<Factor> axis) => axis.Any(f => f.Dim.Role is AxisRole.Row or AxisRole.Column or AxisRole.Token);
        foreach (var node in graph.Ancestors([tensor]))
        {
            if (node.Output.Count == 0 || !labels.TryGetValue(node.Output[0], out var output))
            {
                continue;
            }

            if (node.OpType == "Reshape" && graph.ConstantValue(node.InputOrEmpty(1)) is { } target)
            {
                var shape = Tensors.ToInt64s(target);
                if (shape.Length == output.Rank && Enumerable.Range(0, shape.Length).Any(i => shape[i] > 0 && Positional(output.Axes[i])))
                {
                    return true;
                }
            }

            if (Broadcasting.Contains(node.OpType))
            {
                foreach (var input in node.Input.Where(i => i.Length > 0 && !labels.ContainsKey(i)))
                {
                    var dims = graph.ConstantValue(input)?.Dims;
                    if (dims is not null && Enumerable.Range(0, dims.Count).Any(k => dims[k] > 1 && Positional(output.Axes[output.Rank - dims.Count + k])))
                    {
                        return true;
                    }
                }
            }
        }

        return false;
    }

    private static bool Matches(AxisLabels labels, long[] shape) =>
        labels.Rank == shape.Length && Enumerable.Range(0, shape.Length).All(i => labels.Size(i) == shape[i]);

    private static AxisLabels? Rule(OnnxGraph graph, NodeProto node, int output, Dictionary<string, AxisLabels> labels, IReadOnlyDictionary<string, long[]> shapes, long[] shape)
    {
        var x = labels.GetValueOrDefault(node.InputOrEmpty(0));
        var op = node.OpType;
        if (SameRoles.Contains(op))
        {
            return x;
        }

        if (Broadcasting.Contains(op))
        {
            var data = node.Input.Skip(op == "Where" ? 1 : 0).Select(i => labels.GetValueOrDefault(i)).ToList();
            return Broadcast(data, shape);
        }

        if (Reshapes.Contains(op))
        {
            return x is null ? null : Reflow(x, shape);
        }

        return op switch
        {
            "Transpose" => x is null ? null : Transpose(node, x),
            "Conv" or "ConvTranspose" when x is not null => Window(x, shape, newUnits: true),
            _ when Windows.Contains(op) && x is not null => Window(x, shape, newUnits: false),
            "GlobalAveragePool" or "GlobalMaxPool" or "GlobalLpPool" when x is { Rank: 4 } => new([x.Axes[0], x.Axes[1], [], []]),
            "ReduceMean" or "ReduceSum" or "ReduceMax" or "ReduceMin" or "ReduceL2" or "ReduceL1" or "ReduceProd" or "ReduceLogSumExp" or "ReduceSumSquare" when x is not null
                => Reduce(graph, node, x),
            "Gemm" when x is not null => Gemm(graph, node, x, shape),
            "MatMul" => MatMul(node, labels, shape),
            "Einsum" => Einsum(node, labels, shape),
            "Concat" => Concat(graph, node, labels, shapes, shape),
            "Slice" when x is not null => Slice(graph, node, x, shapes[node.Input[0]], shape),
            "Split" when x is not null => Split(node, output, x, shapes, shape),
            "Gather" when x is not null && !labels.ContainsKey(node.InputOrEmpty(1)) => Gather(graph, node, x, shapes[node.Input[0]], shape),
            "Pad" when x is not null => Pad(x, shapes[node.Input[0]], shape),
            _ => null,
        };
    }

    /// <summary>Element-wise joins: each output axis takes its roles from the data inputs that are not broadcast along it; they must agree.</summary>
    private static AxisLabels? Broadcast(IReadOnlyList<AxisLabels?> inputs, long[] shape)
    {
        var axes = new List<IReadOnlyList<Factor>>();
        for (var j = 0; j < shape.Length; j++)
        {
            IReadOnlyList<Factor>? chosen = null;
            if (shape[j] == 1)
            {
                // Only a one-channel units axis survives at size 1; any other size-1 axis has no digits.
                foreach (var input in inputs)
                {
                    var k = j - (shape.Length - (input?.Rank ?? 0));
                    if (input is not null && k >= 0 && input.Axes[k] is [{ Dim.Role: AxisRole.Unit }])
                    {
                        chosen ??= input.Axes[k];
                    }
                }

                axes.Add(chosen ?? []);
                continue;
            }

            var agree = true;
            foreach (var input in inputs)
            {
                var k = j - (shape.Length - (input?.Rank ?? 0));
                if (input is null || k < 0 || input.Size(k) != shape[j])
                {
                    continue;
                }

                if (chosen is null)
                {
                    chosen = input.Axes[k];
                }
                else if (!chosen.SequenceEqual(input.Axes[k]))
                {
                    agree = false;
                }
            }

            axes.Add(agree && chosen is not null ? chosen : AxisLabels.Whole(AxisRole.Internal, shape[j]));
        }

        return new AxisLabels(axes);
    }

    /// <summary>A reshape keeps the row-major order of elements: the factors flow into the new axes, split where an axis boundary falls inside one.</summary>
    public static AxisLabels? Reflow(AxisLabels input, IReadOnlyList<long> shape)
    {
        // A size-1 units axis has no digits to move; it stays only where an axis of size 1 takes it.
        var queue = new Queue<Factor>(input.Axes.SelectMany(a => a));
        var axes = new List<IReadOnlyList<Factor>>();
        foreach (var size in shape)
        {
            var axis = new List<Factor>();
            var need = size;
            if (size == 1 && queue.Count > 0 && queue.Peek().Size == 1)
            {
                axis.Add(queue.Dequeue());
            }

            while (need > 1)
            {
                if (queue.Count == 0)
                {
                    return null;
                }

                var f = queue.Dequeue();
                if (f.Size == 1)
                {
                    continue;
                }

                if (f.Size <= need)
                {
                    if (need % f.Size != 0)
                    {
                        return null;
                    }

                    axis.Add(f);
                    need /= f.Size;
                }
                else
                {
                    if (f.Size % need != 0)
                    {
                        return null;
                    }

                    var rest = f.Size / need;
                    axis.Add(new Factor(f.Dim, need, f.Inner * rest));
                    var remaining = new Queue<Factor>([new Factor(f.Dim, rest, f.Inner), .. queue]);
                    queue = remaining;
                    need = 1;
                }
            }

            axes.Add(axis);
        }

        return queue.All(f => f.Size == 1) ? new AxisLabels(axes) : null;
    }

    private static AxisLabels Transpose(NodeProto node, AxisLabels x)
    {
        var perm = node.Ints("perm") ?? [.. Enumerable.Range(0, x.Rank).Reverse().Select(i => (long)i)];
        return new AxisLabels([.. perm.Select(p => x.Axes[(int)p])]);
    }

    /// <summary>N×C×H×W window ops: batch stays, units stay (pooling) or are new (convolution), rows and columns stay spatial.</summary>
    private static AxisLabels? Window(AxisLabels x, long[] shape, bool newUnits)
    {
        if (x.Rank != 4 || shape.Length != 4 || !IsRole(x.Axes[2], AxisRole.Row) || !IsRole(x.Axes[3], AxisRole.Column))
        {
            return null;
        }

        IReadOnlyList<Factor> Spatial(int axis, AxisRole role) =>
            x.Size(axis) == shape[axis] ? x.Axes[axis] : AxisLabels.Whole(role, shape[axis]);

        return new AxisLabels([x.Axes[0], newUnits ? AxisLabels.Whole(AxisRole.Unit, shape[1]) : x.Axes[1], Spatial(2, AxisRole.Row), Spatial(3, AxisRole.Column)]);
    }

    /// <summary>True for a size-1 axis or one that is a whole dimension of <paramref name="role"/>.</summary>
    private static bool IsRole(IReadOnlyList<Factor> axis, AxisRole role) => axis.Count == 0 || axis is [{ IsWhole: true } f] && f.Dim.Role == role;

    private static AxisLabels? Reduce(OnnxGraph graph, NodeProto node, AxisLabels x)
    {
        var axes = node.Ints("axes") ?? (node.Input.Count > 1 && graph.ConstantValue(node.Input[1]) is { } t ? Tensors.ToInt64s(t) : null);
        var reduced = axes is null || axes.Length == 0
            ? (node.Int("noop_with_empty_axes", 0) == 1 ? [] : Enumerable.Range(0, x.Rank).ToHashSet())
            : axes.Select(a => (int)(a < 0 ? a + x.Rank : a)).ToHashSet();
        var keep = node.Int("keepdims", 1) == 1;
        return new AxisLabels([.. Enumerable.Range(0, x.Rank).Where(i => keep || !reduced.Contains(i)).Select(i => reduced.Contains(i) ? [] : x.Axes[i])]);
    }

    private static AxisLabels? Gemm(OnnxGraph graph, NodeProto node, AxisLabels a, long[] shape)
    {
        if (a.Rank != 2 || !IsConstantPath(graph, node.Input[1]))
        {
            return null;
        }

        var rows = node.Int("transA", 0) == 1 ? a.Axes[1] : a.Axes[0];
        return new AxisLabels([rows, AxisLabels.Whole(AxisRole.Unit, shape[1])]);
    }

    private static AxisLabels? MatMul(NodeProto node, Dictionary<string, AxisLabels> labels, long[] shape)
    {
        var a = labels.GetValueOrDefault(node.Input[0]);
        var b = labels.GetValueOrDefault(node.Input[1]);
        if (a is null || a.Rank < 2 || b is { Rank: < 2 })
        {
            return null;
        }

        if (b is null)
        {
            // A linear layer on the last axis: x·W makes new units.
            return new AxisLabels([.. a.Axes.Take(a.Rank - 1), AxisLabels.Whole(AxisRole.Unit, shape[^1])]);
        }

        // Two data operands (attention): batch axes join as element-wise, rows come from A, columns from B.
        var leading = shape.Take(shape.Length - 2).ToArray();
        var batchAxes = Broadcast([Leading(a), Leading(b)], leading)!;
        return new AxisLabels([.. batchAxes.Axes, a.Axes[^2], b.Axes[^1]]);
    }

    private static AxisLabels Leading(AxisLabels x) => new([.. x.Axes.Take(x.Rank - 2)]);

    /// <summary>Letters of data operands keep their roles; a letter only a weight carries is a new units axis; summed letters vanish.</summary>
    private static AxisLabels? Einsum(NodeProto node, Dictionary<string, AxisLabels> labels, long[] shape)
    {
        var equation = node.String("equation", "").Replace(" ", "", StringComparison.Ordinal);
        var parts = equation.Split("->");
        if (parts.Length != 2 || equation.Contains("...", StringComparison.Ordinal))
        {
            return null;
        }

        var operands = parts[0].Split(',');
        var axes = new List<IReadOnlyList<Factor>>();
        for (var j = 0; j < parts[1].Length; j++)
        {
            var letter = parts[1][j];
            IReadOnlyList<Factor>? chosen = null;
            for (var i = 0; i < operands.Length && i < node.Input.Count; i++)
            {
                var k = operands[i].IndexOf(letter, StringComparison.Ordinal);
                if (k < 0 || labels.GetValueOrDefault(node.Input[i]) is not { } x || x.Size(k) != shape[j])
                {
                    continue;
                }

                if (chosen is not null && !chosen.SequenceEqual(x.Axes[k]))
                {
                    return null;
                }

                chosen = x.Axes[k];
            }

            axes.Add(chosen ?? AxisLabels.Whole(AxisRole.Unit, shape[j]));
        }

        return new AxisLabels(axes);
    }

    private static AxisLabels? Concat(OnnxGraph graph, NodeProto node, Dictionary<string, AxisLabels> labels, IReadOnlyDictionary<string, long[]> shapes, long[] shape)
    {
        var rank = shape.Length;
        var axis = (int)node.Int("axis", 0);
        axis = axis < 0 ? axis + rank : axis;
        var inputs = node.Input.Select(i => (Name: i, Labels: labels.GetValueOrDefault(i), Size: SizeAlong(graph, shapes, i, axis))).ToList();
        var data = inputs.Where(i => i.Labels is not null).ToList();
        if (data.Count == 0 || inputs.Any(i => i.Size is null))
        {
            return null;
        }

        // Every other axis must mean the same in every data input.
        var others = Enumerable.Range(0, rank).Where(j => j != axis).ToList();
        if (data.Any(d => d.Labels!.Rank != rank || others.Any(j => !d.Labels.Axes[j].SequenceEqual(data[0].Labels!.Axes[j]))))
        {
            return null;
        }

        IReadOnlyList<Factor> joined;
        var spatial = data.Select(d => d.Labels!.Axes[axis]).Where(a => a.Count > 0).Select(a => a[0].Dim.Role).Distinct().ToList();
        if (data.Count == inputs.Count && spatial is [AxisRole.Row or AxisRole.Column] && data.All(d => IsRole(d.Labels!.Axes[axis], spatial[0])))
        {
            // Parts of the rows or columns put back together (a cyclic shift, as Swin's shifted windows do).
            joined = AxisLabels.Whole(spatial[0], shape[axis]);
        }
        else if (data.All(d => IsRole(d.Labels!.Axes[axis], AxisRole.Unit)))
        {
            // Channel concatenation (Inception, DenseNet, FPN heads): the units of all inputs, constants included.
            joined = AxisLabels.Whole(AxisRole.Unit, shape[axis]);
        }
        else if (data.Count == 1 && Grid(data[0].Labels!.Axes[axis]) is { } grid)
        {
            // Tokens: a patch grid with constant tokens (a class token) before it.
            var before = inputs.TakeWhile(i => i.Labels is null).Sum(i => i.Size!.Value);
            var after = inputs.SkipWhile(i => i.Labels is null).Skip(1).Sum(i => i.Size!.Value);
            if (after != 0)
            {
                return null;
            }

            joined = AxisLabels.Whole(new Dim(AxisRole.Token, shape[axis], grid.Rows, grid.Columns, grid.Extra + before));
        }
        else
        {
            return null;
        }

        return new AxisLabels([.. Enumerable.Range(0, rank).Select(j => j == axis ? joined : data[0].Labels!.Axes[j])]);
    }

    /// <summary>A grid of positions on one axis: rows then columns (flattened patches), or tokens.</summary>
    private static (long Rows, long Columns, long Extra)? Grid(IReadOnlyList<Factor> axis) => axis switch
    {
        [{ IsWhole: true } r, { IsWhole: true } c] when r.Dim.Role == AxisRole.Row && c.Dim.Role == AxisRole.Column => (r.Size, c.Size, 0),
        [{ IsWhole: true } t] when t.Dim.Role == AxisRole.Token => (t.Dim.GridRows, t.Dim.GridColumns, t.Dim.Extra),
        _ => null,
    };

    private static long? SizeAlong(OnnxGraph graph, IReadOnlyDictionary<string, long[]> shapes, string tensor, int axis)
    {
        var shape = shapes.GetValueOrDefault(tensor) ?? (graph.ConstantValue(tensor) is { } t ? Tensors.Shape(t) : null);
        return shape is not null && axis < shape.Length ? shape[axis] : null;
    }

    private static AxisLabels? Slice(OnnxGraph graph, NodeProto node, AxisLabels x, long[] inputShape, long[] shape)
    {
        var starts = node.Ints("starts") ?? Constant(graph, node.InputOrEmpty(1));
        var axesAttr = node.Ints("axes") ?? (node.Input.Count > 3 ? Constant(graph, node.Input[3]) : null);
        if (starts is null)
        {
            return null;
        }

        var axes = axesAttr ?? [.. Enumerable.Range(0, starts.Length).Select(i => (long)i)];
        var result = x.Axes.ToList();
        for (var i = 0; i < axes.Length; i++)
        {
            var axis = (int)(axes[i] < 0 ? axes[i] + x.Rank : axes[i]);
            if (inputShape[axis] == shape[axis])
            {
                continue;
            }

            var start = starts[i] < 0 ? starts[i] + inputShape[axis] : Math.Min(starts[i], inputShape[axis]);
            result[axis] = Narrow(x.Axes[axis], start, shape[axis]) ?? AxisLabels.Whole(AxisRole.Internal, shape[axis]);
        }

        return new AxisLabels(result);
    }

    private static long[]? Constant(OnnxGraph graph, string tensor) =>
        tensor.Length > 0 && graph.ConstantValue(tensor) is { } t ? Tensors.ToInt64s(t) : null;

    /// <summary>A contiguous part of an axis: the grid without its extra tokens, a subset of units, or a crop.</summary>
    private static IReadOnlyList<Factor>? Narrow(IReadOnlyList<Factor> axis, long start, long length)
    {
        if (axis is not [{ IsWhole: true } f])
        {
            return null;
        }

        return f.Dim.Role switch
        {
            AxisRole.Token when start == f.Dim.Extra && length == f.Dim.GridRows * f.Dim.GridColumns =>
                [new Factor(new Dim(AxisRole.Row, f.Dim.GridRows), f.Dim.GridRows, 1), new Factor(new Dim(AxisRole.Column, f.Dim.GridColumns), f.Dim.GridColumns, 1)],
            AxisRole.Unit or AxisRole.Row or AxisRole.Column => AxisLabels.Whole(f.Dim.Role, length),
            _ => null,
        };
    }

    private static AxisLabels? Split(NodeProto node, int output, AxisLabels x, IReadOnlyDictionary<string, long[]> shapes, long[] shape)
    {
        var axis = (int)node.Int("axis", 0);
        axis = axis < 0 ? axis + x.Rank : axis;
        var start = node.Output.Take(output).Sum(o => shapes.TryGetValue(o, out var s) ? s[axis] : 0);
        var result = x.Axes.ToList();
        result[axis] = Narrow(x.Axes[axis], start, shape[axis]) ?? AxisLabels.Whole(AxisRole.Internal, shape[axis]);
        return new AxisLabels(result);
    }

    /// <summary>
    /// Gather with indices from constants: a scalar index drops the axis (the class token, or q
    /// of qkv[0]); the rest of a dimension it cut becomes a units dimension of its own.
    /// </summary>
    private static AxisLabels? Gather(OnnxGraph graph, NodeProto node, AxisLabels x, long[] inputShape, long[] shape)
    {
        var axis = (int)node.Int("axis", 0);
        axis = axis < 0 ? axis + x.Rank : axis;
        var indices = graph.ConstantValue(node.Input[1]);
        if (indices is null)
        {
            return null;
        }

        var cut = x.Axes[axis];
        if (indices.Dims.Count == 0)
        {
            var index = Tensors.ToInt64s(indices)[0];
            index = index < 0 ? index + inputShape[axis] : index;
            var kept = x.Axes.Where((_, i) => i != axis).ToList();
            if (cut is [{ IsWhole: true } t] && t.Dim.Role == AxisRole.Token)
            {
                // An extra token taken out (the class token): a vector per image. A patch token taken out is a position, not a layer.
                return index < t.Dim.Extra ? new AxisLabels(kept) : null;
            }

            return new AxisLabels(Regroup(kept, cut));
        }

        if (indices.Dims.Count == 1 && IsRole(cut, AxisRole.Unit))
        {
            var result = x.Axes.ToList();
            result[axis] = AxisLabels.Whole(AxisRole.Unit, shape[axis]);
            return new AxisLabels(result);
        }

        return null;
    }

    /// <summary>The digits of every dimension that <paramref name="cut"/> took part of become one new, smaller dimension of the same role.</summary>
    private static List<IReadOnlyList<Factor>> Regroup(List<IReadOnlyList<Factor>> axes, IReadOnlyList<Factor> cut)
    {
        foreach (var dim in cut.Select(f => f.Dim).Distinct().ToList())
        {
            var rest = axes.SelectMany(a => a).Where(f => f.Dim == dim).OrderByDescending(f => f.Inner).ToList();
            var size = rest.Aggregate(1L, (a, f) => a * f.Size);
            var fresh = new Dim(dim.Role == AxisRole.Batch ? AxisRole.Internal : dim.Role, size);
            var inner = new Dictionary<Factor, long>();
            var running = size;
            foreach (var f in rest)
            {
                running /= f.Size;
                inner[f] = running;
            }

            axes = [.. axes.Select(a => (IReadOnlyList<Factor>)[.. a.Select(f => f.Dim == dim ? new Factor(fresh, f.Size, inner[f]) : f)])];
        }

        return axes;
    }

    private static AxisLabels? Pad(AxisLabels x, long[] inputShape, long[] shape)
    {
        var result = x.Axes.ToList();
        for (var i = 0; i < shape.Length; i++)
        {
            if (inputShape[i] == shape[i])
            {
                continue;
            }

            if (!(IsRole(x.Axes[i], AxisRole.Row) || IsRole(x.Axes[i], AxisRole.Column)) || x.Axes[i].Count == 0)
            {
                return null;
            }

            result[i] = AxisLabels.Whole(x.Axes[i][0].Dim.Role, shape[i]);
        }

        return new AxisLabels(result);
    }

    /// <summary>True when <paramref name="tensor"/> does not depend on any graph input (a weight, or arithmetic on weights).</summary>
    private static bool IsConstantPath(OnnxGraph graph, string tensor)
    {
        if (graph.IsInitializer(tensor))
        {
            return true;
        }

        var producer = graph.Producer(tensor);
        return producer is not null && producer.Input.Where(i => i.Length > 0).All(i => IsConstantPath(graph, i));
    }
}
