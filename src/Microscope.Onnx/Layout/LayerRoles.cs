using System.Globalization;

namespace Microscope.Onnx.Layout;

/// <summary>
/// Axis roles stated by hand in a manifest (<see cref="LayerOptions.Roles"/>), as a fallback for a
/// tensor whose roles the catalog cannot follow from the image. One entry per axis, outermost
/// first, separated by commas: N (batch), C (units), H and W (rows and columns), T=RxC+E (tokens:
/// an R×C patch grid after E extra tokens), 1 (a size-1 axis). Axes flattened together are written
/// in parentheses with "·" or "*" between them, outer first: "(T=14x14+1·N),C".
/// </summary>
public static class LayerRoles
{
    /// <summary>The labels of a tensor of <paramref name="shape"/> (measured at batch <paramref name="batch"/>).</summary>
    /// <exception cref="ModelFormatException">The text does not describe the shape.</exception>
    public static AxisLabels Parse(string text, IReadOnlyList<long> shape, long batch, string source)
    {
        var axes = text.Replace(" ", "", StringComparison.Ordinal).Split(',');
        if (axes.Length != shape.Count)
        {
            throw Error(source, text, $"it names {axes.Length} axes, but the tensor has {shape.Count} ({string.Join("×", shape)})");
        }

        var result = new List<IReadOnlyList<Factor>>();
        for (var i = 0; i < axes.Length; i++)
        {
            var parts = axes[i].Trim('(', ')').Split('·', '*');
            var dims = parts.Select(p => Letter(p, batch, source, text)).ToList();
            var known = dims.Where(d => d is not null).Aggregate(1L, (a, d) => a * d!.Size);
            var unknown = dims.Count(d => d is null);
            if (unknown > 1 || shape[i] % known != 0 || (unknown == 0 && known != shape[i]))
            {
                throw Error(source, text, $"axis {i} ('{axes[i]}') does not match its size {shape[i]}");
            }

            var letters = parts.Select(p => p[0]).ToList();
            result.Add([.. dims.Select((d, k) => d ?? new Dim(letters[k] switch { 'C' => AxisRole.Unit, 'H' => AxisRole.Row, _ => AxisRole.Column }, shape[i] / known))
                .Where(d => d.Size > 1)
                .Select(d => new Factor(d, d.Size, 1))]);
        }

        // Each letter is a whole dimension of its own (Inner 1); the order within an axis carries the flattening.
        return new AxisLabels(result);
    }

    private static Dim? Letter(string part, long batch, string source, string text)
    {
        if (part.Length == 0)
        {
            throw Error(source, text, "an axis is empty");
        }

        switch (part[0])
        {
            case 'N' when part.Length == 1:
                return new Dim(AxisRole.Batch, batch);
            case '1' when part.Length == 1:
                return new Dim(AxisRole.Internal, 1);
            case 'C' or 'H' or 'W' when part.Length == 1:
                return null;
            case 'T':
                var spec = part.Length > 2 && part[1] == '=' ? part[2..] : throw Error(source, text, "tokens need their grid: T=ROWSxCOLUMNS or T=ROWSxCOLUMNS+EXTRA");
                var plus = spec.Split('+');
                var grid = plus[0].Split('x');
                if (grid.Length != 2 || !long.TryParse(grid[0], NumberStyles.None, CultureInfo.InvariantCulture, out var rows) ||
                    !long.TryParse(grid[1], NumberStyles.None, CultureInfo.InvariantCulture, out var columns) || rows < 1 || columns < 1)
                {
                    throw Error(source, text, $"'{part}' is not T=ROWSxCOLUMNS(+EXTRA)");
                }

                long extra = 0;
                if (plus.Length == 2 && !long.TryParse(plus[1], NumberStyles.None, CultureInfo.InvariantCulture, out extra))
                {
                    throw Error(source, text, $"'{part}' has no number of extra tokens after '+'");
                }

                return new Dim(AxisRole.Token, (rows * columns) + extra, rows, columns, extra);
            default:
                throw Error(source, text, $"'{part}' is not one of N, C, H, W, T=RxC+E or 1");
        }
    }

    private static ModelFormatException Error(string source, string text, string why) =>
        new($"{source}: the manifest's roles '{text}' cannot be used: {why}.");
}
