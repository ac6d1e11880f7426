using System.Text.Json.Serialization;
using Microscope.Inference;
using Microscope.Lenses.DatasetExamples;
using Microscope.Onnx;

namespace Microscope.Lenses;

/// <summary>
/// The quality figures of one feature-visualization image, built once for the farm (in a lens's
/// data) and the CLI (beside each image): the objective before and after optimization and under
/// fresh random transforms, and the unit's spatial maximum on the image fed as dataset examples are,
/// so that it compares with the unit's top dataset example.
/// </summary>
public sealed record ImageFigures(
    [property: JsonIgnore] int Unit, int Index, double ObjectiveBefore, double ObjectiveAfter, double ObjectiveUnderTransforms, double SpatialMaximum)
{
    /// <summary>The figures of each of <paramref name="renders"/> (images of <paramref name="size"/> pixels), in their order.</summary>
    public static IReadOnlyList<ImageFigures> Of(IReadOnlyList<UnitRender> renders, VisionGraph vision, Layer layer, int size, SessionFactory sessions)
    {
        var maxima = DatasetScanner.Maxima(vision, layer, [.. renders.Select(r => r.Image)], size, vision.Spec.ForwardSize, sessions);
        return [.. renders.Select((r, i) => new ImageFigures(r.Unit, r.Index, r.StartObjective, r.FinalObjective, r.RobustObjective, maxima[i][r.Unit]))];
    }
}
