using Microscope.Onnx.Proto;

namespace Microscope.Onnx.Layout;

/// <summary>
/// How a layer's tensor holds its units: which axis is the batch, which the units, and where the
/// positions are (rows and columns, or tokens on a patch grid with extra tokens before it).
/// Every lens reads a layer through its canonical view, N×C×H×W (or N×K without positions), so a
/// channels-last map or a token sequence is seen exactly as a convolutional feature map is.
/// </summary>
/// <param name="Axes">The tensor's axes as written, outermost first: N batch, C units, H rows, W columns, T tokens; "(T·N)" is tokens flattened into the batch.</param>
/// <param name="Units">The units axis' size.</param>
/// <param name="Rows">Positions: grid rows (0 for a vector layer).</param>
/// <param name="Columns">Positions: grid columns (0 for a vector layer).</param>
/// <param name="ExtraTokens">Tokens before the patch grid (a class token), each shown as a layer of its own.</param>
public sealed record LayerLayout(string Axes, long Units, long Rows, long Columns, long ExtraTokens)
{
    /// <summary>True when the tensor already is N×C×H×W or N×K: the lenses read it as it is.</summary>
    public bool IsCanonical { get; init; }

    /// <summary>The canonical shape without the batch: C×H×W, or K.</summary>
    public long[] CanonicalShape => Rows > 0 ? [Units, Rows, Columns] : [Units];

    public string Describe() =>
        Rows == 0 ? $"{Axes}: {Units} units"
        : ExtraTokens > 0 ? $"{Axes}: {Units} units on a {Rows}×{Columns} token grid, {ExtraTokens} extra token{(ExtraTokens == 1 ? "" : "s")}"
        : $"{Axes}: {Units} units on a {Rows}×{Columns} grid";
}

/// <summary>A tensor that is not a layer, and why (in words a user can act on).</summary>
public sealed record NotALayer(string Reason);

/// <summary>Decides whether labelled axes make a layer, and writes the ONNX view that makes it canonical.</summary>
public static class LayerLayouts
{
    private static readonly Dictionary<AxisRole, int> CanonicalOrder = new()
    {
        [AxisRole.Batch] = 0, [AxisRole.Unit] = 1, [AxisRole.Row] = 2, [AxisRole.Token] = 2, [AxisRole.Column] = 3,
    };

    /// <summary>The layout of a tensor with these labels, or why it is not a layer.</summary>
    public static (LayerLayout? Layout, NotALayer? Why) Classify(AxisLabels labels, bool batchSeen)
    {
        var factors = labels.Axes.SelectMany(a => a).ToList();
        if (factors.Any(f => f.Dim.Role == AxisRole.Internal))
        {
            return (null, new NotALayer("axes whose roles could not be followed from the image (an op without a layout rule)"));
        }

        if (factors.Any(f => !f.IsWhole))
        {
            return factors.Any(f => !f.IsWhole && f.Dim.Role == AxisRole.Unit)
                ? (null, new NotALayer("a units axis split apart (attention heads)"))
                : (null, new NotALayer("positions split into windows and mixed with the batch"));
        }

        int Count(AxisRole role) => factors.Count(f => f.Dim.Role == role);
        if (Count(AxisRole.Token) > 1 || Count(AxisRole.Row) > 1 || Count(AxisRole.Column) > 1)
        {
            return (null, new NotALayer("two position axes (attention scores)"));
        }

        if (Count(AxisRole.Unit) != 1)
        {
            return (null, new NotALayer(Count(AxisRole.Unit) == 0 ? "no units axis" : "two units axes (heads kept apart)"));
        }

        if (batchSeen && Count(AxisRole.Batch) != 1)
        {
            return (null, new NotALayer("no batch axis (the batch was reduced away)"));
        }

        if (Count(AxisRole.Token) == 1 && Count(AxisRole.Row) + Count(AxisRole.Column) > 0)
        {
            return (null, new NotALayer("tokens and rows or columns at once"));
        }

        var unitAxis = labels.Axes.Single(a => a.Any(f => f.Dim.Role == AxisRole.Unit));
        if (unitAxis.Count != 1)
        {
            return (null, new NotALayer("units mixed with other axes"));
        }

        var batchAxis = labels.Axes.FirstOrDefault(a => a.Any(f => f.Dim.Role == AxisRole.Batch));
        if (batchAxis is not null && batchAxis.Any(f => f.Dim.Role is not (AxisRole.Batch or AxisRole.Row or AxisRole.Column or AxisRole.Token)))
        {
            return (null, new NotALayer("the batch mixed with units"));
        }

        var token = factors.FirstOrDefault(f => f.Dim.Role == AxisRole.Token)?.Dim;
        // A map pooled down to one row (or column) keeps its other position axis; the lost one has size 1.
        var spatial = Count(AxisRole.Row) + Count(AxisRole.Column) > 0;
        var rows = token?.GridRows ?? factors.FirstOrDefault(f => f.Dim.Role == AxisRole.Row)?.Size ?? (spatial ? 1 : 0);
        var columns = token?.GridColumns ?? factors.FirstOrDefault(f => f.Dim.Role == AxisRole.Column)?.Size ?? (spatial ? 1 : 0);
        var units = unitAxis[0].Size;
        var layout = new LayerLayout(Describe(labels), units, rows, columns, token?.Extra ?? 0)
        {
            IsCanonical = Canonical(labels),
        };
        return (layout, null);
    }

    /// <summary>N×C×H×W (rows and columns may be 1) or N×K as they stand.</summary>
    private static bool Canonical(AxisLabels labels)
    {
        static bool Is(IReadOnlyList<Factor> axis, AxisRole role) => axis.Count == 0 || axis is [var f] && f.Dim.Role == role;
        return labels.Rank switch
        {
            4 => Is(labels.Axes[0], AxisRole.Batch) && labels.Axes[1] is [{ Dim.Role: AxisRole.Unit }] && Is(labels.Axes[2], AxisRole.Row) && Is(labels.Axes[3], AxisRole.Column),
            2 => Is(labels.Axes[0], AxisRole.Batch) && labels.Axes[1] is [{ Dim.Role: AxisRole.Unit }],
            _ => false,
        };
    }

    private static string Describe(AxisLabels labels) =>
        string.Join(",", labels.Axes.Select(a => a.Count switch
        {
            0 => "1",
            1 => Letter(a[0].Dim.Role),
            _ => "(" + string.Join("·", a.Select(f => Letter(f.Dim.Role))) + ")",
        }));

    private static string Letter(AxisRole role) => role switch
    {
        AxisRole.Batch => "N",
        AxisRole.Unit => "C",
        AxisRole.Row => "H",
        AxisRole.Column => "W",
        AxisRole.Token => "T",
        _ => "?",
    };

    /// <summary>
    /// The nodes that turn <paramref name="tensor"/> into its canonical view: a reshape that gives
    /// every dimension an axis of its own (tokens flattened into the batch come apart), a transpose
    /// to N, C, positions, and for tokens the patch grid without its extra tokens as rows × columns.
    /// Returns the grid view and one N×C view per extra token; nothing is added for a canonical tensor.
    /// </summary>
    public static LayerView View(string tensor, AxisLabels labels, LayerLayout layout, string prefix)
    {
        if (layout.IsCanonical)
        {
            return new LayerView(tensor, [], [], [], FixedSize: false);
        }

        var g = new GraphEmitter(prefix);
        var factors = labels.Axes.SelectMany(a => a).ToList();
        var hasBatch = factors.Any(f => f.Dim.Role == AxisRole.Batch);
        var current = tensor;
        var separate = labels.Axes.Any(a => a.Count != 1) || !hasBatch;

        // A reshape that writes out positions (rows, columns, tokens) holds only at the catalog's input size.
        var fixedSize = (separate && factors.Any(f => f.Dim.Role is AxisRole.Row or AxisRole.Column or AxisRole.Token)) || layout.ExtraTokens > 0;
        if (separate)
        {
            long[] shape = [.. hasBatch ? [] : new long[] { -1 }, .. factors.Select(f => f.Dim.Role == AxisRole.Batch ? -1 : f.Size)];
            current = g.Node("Reshape", [current, g.Ints(shape)]);
        }

        List<AxisRole> roles = [.. hasBatch ? [] : new[] { AxisRole.Batch }, .. factors.Select(f => f.Dim.Role)];
        var perm = Enumerable.Range(0, roles.Count).OrderBy(i => CanonicalOrder[roles[i]]).Select(i => (long)i).ToArray();
        if (!perm.SequenceEqual(Enumerable.Range(0, perm.Length).Select(i => (long)i)))
        {
            current = g.Node("Transpose", [current], NodeAttributes.IntsAttribute("perm", perm));
        }

        if (layout.Rows == 0)
        {
            return new LayerView(current, [], g.Nodes, g.Initializers, fixedSize);
        }

        if (!roles.Contains(AxisRole.Token) && (!roles.Contains(AxisRole.Row) || !roles.Contains(AxisRole.Column)))
        {
            current = g.Node("Reshape", [current, g.Ints(-1, layout.Units, layout.Rows, layout.Columns)]);
            fixedSize = true;
        }

        var tokens = new List<string>();
        if (roles.Contains(AxisRole.Token))
        {
            for (var e = 0; e < layout.ExtraTokens; e++)
            {
                var token = g.Node("Slice", [current, g.Ints(e), g.Ints(e + 1), g.Ints(2)]);
                tokens.Add(g.Node("Reshape", [token, g.Ints(-1, layout.Units)]));
            }

            var grid = layout.ExtraTokens == 0 ? current
                : g.Node("Slice", [current, g.Ints(layout.ExtraTokens), g.Ints(layout.ExtraTokens + (layout.Rows * layout.Columns)), g.Ints(2)]);
            current = g.Node("Reshape", [grid, g.Ints(-1, layout.Units, layout.Rows, layout.Columns)]);
            fixedSize = true;
        }

        return new LayerView(current, tokens, g.Nodes, g.Initializers, fixedSize);
    }
}

/// <summary>The canonical view of a layer: the N×C×H×W (or N×K) tensor, its extra tokens as N×C tensors, and the nodes that compute them.</summary>
/// <param name="FixedSize">True when the view's nodes write out the positions' sizes, so it holds only at the catalog's input size.</param>
public sealed record LayerView(string Tensor, IReadOnlyList<string> ExtraTokens, IReadOnlyList<NodeProto> Nodes, IReadOnlyList<TensorProto> Constants, bool FixedSize);
