namespace Microscope.Lenses.DatasetExamples;

/// <summary>
/// A layer's dataset statistics, every unit: what the CLI writes as dataset-examples-statistics.json
/// and the farm stores beside the layer's dataset examples, for tuning curves and quality figures to
/// read (a unit's typical and extreme activation on real images).
/// </summary>
public sealed record LayerStatistics(string Model, string Layer, int Images, IReadOnlyList<string> Skipped, IReadOnlyList<LayerStatistics.UnitFigures> Units)
{
    public static LayerStatistics Create(string model, string layer, int images, IReadOnlyList<string> skipped, IReadOnlyList<UnitExamples> units) => new(
        model, layer, images, skipped,
        [.. units.Select((e, u) => new UnitFigures(u, e.Count, e.Mean, e.StandardDeviation, e.Min, e.Max, e.Quantile(0.5), e.Quantile(0.99)))]);

    /// <summary>One unit's spatial maximum over the dataset; min and max are infinite, median and p99 NaN, when no image was read.</summary>
    public sealed record UnitFigures(int Unit, long Count, double Mean, double Std, double Min, double Max, double Median, double P99);
}
