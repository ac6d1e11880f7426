namespace Microscope.Onnx.Layout;

/// <summary>What an axis of a tensor means for a researcher.</summary>
public enum AxisRole
{
    /// <summary>The images of a batch.</summary>
    Batch,

    /// <summary>Channels or features: the units of a layer.</summary>
    Unit,

    /// <summary>Image rows (a spatial axis).</summary>
    Row,

    /// <summary>Image columns (a spatial axis).</summary>
    Column,

    /// <summary>A token sequence: a grid of patches (rows × columns, row-major) with extra tokens before it (a class token).</summary>
    Token,

    /// <summary>Anything else: heads split off a unit axis, attention scores, windows mixed with the batch.</summary>
    Internal,
}

/// <summary>
/// One logical dimension a tensor axis may carry. Dimensions compare by value: two branches that
/// both downsample to 28 rows carry the same row dimension, and two units axes of one size match,
/// which is what element-wise joins (residual sums) need.
/// </summary>
/// <param name="GridRows">For <see cref="AxisRole.Token"/>: the patch grid's rows.</param>
/// <param name="GridColumns">For <see cref="AxisRole.Token"/>: the patch grid's columns.</param>
/// <param name="Extra">For <see cref="AxisRole.Token"/>: how many extra tokens (class, distillation) come before the grid.</param>
public sealed record Dim(AxisRole Role, long Size, long GridRows = 0, long GridColumns = 0, long Extra = 0)
{
    public override string ToString() => Role switch
    {
        AxisRole.Token => $"token({GridRows}×{GridColumns}{(Extra > 0 ? $"+{Extra}" : "")})",
        _ => $"{Role.ToString().ToLowerInvariant()}({Size})",
    };
}

/// <summary>
/// One digit of a dimension's index carried by an axis: the axis index's part that equals
/// (index of <see cref="Dim"/> / <see cref="Inner"/>) mod <see cref="Size"/>. A whole dimension is
/// one factor (Size = Dim.Size, Inner = 1); a reshape that splits or merges axes moves factors.
/// </summary>
public sealed record Factor(Dim Dim, long Size, long Inner)
{
    public bool IsWhole => Size == Dim.Size && Inner == 1;
}

/// <summary>The factors of every axis of a tensor, outermost first; an axis of size 1 has none.</summary>
public sealed class AxisLabels
{
    public AxisLabels(IReadOnlyList<IReadOnlyList<Factor>> axes)
    {
        Axes = [.. axes.Select(Normalize)];
    }

    public IReadOnlyList<IReadOnlyList<Factor>> Axes { get; }

    public int Rank => Axes.Count;

    public long Size(int axis) => Axes[axis].Aggregate(1L, (a, f) => a * f.Size);

    /// <summary>
    /// An axis holding one fresh dimension of <paramref name="role"/>, or none when the size is 1,
    /// except for units: a one-channel map (a text probability map) still has its units axis.
    /// </summary>
    public static IReadOnlyList<Factor> Whole(AxisRole role, long size) => Whole(new Dim(role, size));

    public static IReadOnlyList<Factor> Whole(Dim dim) => dim.Size == 1 && dim.Role != AxisRole.Unit ? [] : [new Factor(dim, dim.Size, 1)];

    /// <summary>Labels in which every axis is internal: data whose meaning was lost.</summary>
    public static AxisLabels Internal(IReadOnlyList<long> shape) => new([.. shape.Select(s => Whole(AxisRole.Internal, s))]);

    public override string ToString() =>
        "(" + string.Join(", ", Axes.Select(a => a.Count == 0 ? "1" : string.Join("·", a.Select(f => f.IsWhole ? f.Dim.ToString() : $"{f.Dim}[{f.Size}]")))) + ")";

    /// <summary>Adjacent digits of one dimension merge back into one factor (heads × head size = units).</summary>
    private static IReadOnlyList<Factor> Normalize(IReadOnlyList<Factor> axis)
    {
        var result = new List<Factor>();
        foreach (var factor in axis)
        {
            if (factor.Size == 1 && !(factor.IsWhole && factor.Dim.Role == AxisRole.Unit))
            {
                continue;
            }

            if (result.Count > 0 && result[^1].Dim == factor.Dim && result[^1].Inner == factor.Size * factor.Inner)
            {
                result[^1] = new Factor(factor.Dim, result[^1].Size * factor.Size, factor.Inner);
            }
            else
            {
                result.Add(factor);
            }
        }

        return result;
    }
}
