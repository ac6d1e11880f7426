using System.Globalization;

namespace Microscope.Lenses.DatasetExamples;

/// <summary>
/// A unit's dataset examples as written to JSON, by the CLI and the farm alike: the receptive field
/// (to crop the examples), the top and bottom images with their activations, and the statistics of
/// the unit's spatial maximum over the dataset.
/// </summary>
public sealed record ExamplesDocument(
    string Model,
    string Layer,
    int Unit,
    ExamplesDocument.Field ReceptiveField,
    IReadOnlyList<Example> Top,
    IReadOnlyList<Example> Bottom,
    ExamplesDocument.Summary Statistics)
{
    public static readonly double[] Quantiles = [0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99];

    public static ExamplesDocument Create(string model, string layer, int unit, UnitExamples examples, ReceptiveField field) => new(
        model, layer, unit, new Field(field.Size, field.Jump, field.Offset, field.WholeImage, field.Describe()), examples.Top, examples.Bottom,
        new Summary(examples.Count, examples.Mean, examples.StandardDeviation, examples.Min, examples.Max,
            Quantiles.ToDictionary(q => q.ToString("0.##", CultureInfo.InvariantCulture), examples.Quantile)));

    /// <param name="WholeImage">True for tokens after attention: the examples are shown whole, not cropped to a patch.</param>
    /// <param name="Description">The field in words, as the UI shows it.</param>
    public sealed record Field(double Size, double Jump, double Offset, bool WholeImage = false, string Description = "");

    public sealed record Summary(long Count, double Mean, double Std, double Min, double Max, IReadOnlyDictionary<string, double> Quantiles);
}
