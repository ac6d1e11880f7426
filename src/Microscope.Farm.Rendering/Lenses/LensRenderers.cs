using Microscope.Farm.Storage;
using Microscope.Lenses;

namespace Microscope.Farm.Rendering;

/// <summary>
/// How one lens of the registry (<see cref="FarmLenses"/>) renders: its items become images and
/// figures, which the engine stores. Runs on a thread-pool thread; stops between steps when cancelled.
/// </summary>
internal interface ILensRenderer
{
    LensKind Lens { get; }

    Task<IReadOnlyList<RenderedLens>> RenderAsync(LensRender render);
}

/// <summary>What a renderer gets for one item: the loaded model, the item (options already reset to what the lens reads), and the silo's services.</summary>
/// <param name="SeedImage">The image DeepDream and caricature start from (a file the CLI was given); null: the built-in one, as the farm renders.</param>
internal sealed record LensRender(LoadedModel Model, WorkItem Item, LensServices Services, StepCounter Steps, CancellationToken Cancellation, string? SeedImage = null);

/// <summary>
/// What the renderers are lent: the store (null where nothing is stored: the CLI), images per pass
/// for an item, its memory estimate and whether a unit's images are coupled (the render silo's
/// <see cref="RenderPasses"/>, or the CLI's --batch), and the configured datasets.
/// </summary>
internal sealed record LensServices(ILensStore? Store, Func<WorkItem, RenderMemory, bool, int> ImagesPerPass, Func<string, string> DatasetFolder);

/// <summary>
/// The renderer of every lens. Adding a lens: describe it in <see cref="FarmLenses"/>, write its
/// renderer (one class here, or an instance of an existing one, as the four feature visualizations
/// share one), and list it below; a test checks that every lens of the registry has exactly one.
/// </summary>
public static class LensRenderers
{
    internal static IReadOnlyList<ILensRenderer> All { get; } =
    [
        new FeatureVisualizationLens(FarmLenses.FeatureVis, FeatureObjective.Channel),
        new FeatureVisualizationLens(FarmLenses.Neuron, FeatureObjective.Neuron),
        new FeatureVisualizationLens(FarmLenses.Negative, FeatureObjective.Negative),
        new FeatureVisualizationLens(FarmLenses.Diversity, FeatureObjective.Diverse),
        new DatasetExamplesLens(),
        new TuningLens(),
        new DeepDreamLens(),
        new CaricatureLens(),
        new WeightsLens(),
    ];

    /// <summary>The renderer of <paramref name="lens"/>, for an item of <paramref name="kind"/>.</summary>
    internal static ILensRenderer For(string lens, WorkKind kind)
    {
        var renderer = All.FirstOrDefault(r => r.Lens.Name == lens);

        // A dataset lens renders its merge (its shards are scans); every other lens renders Render items.
        return renderer is not null && renderer.Lens.NeedsDataset == (kind == WorkKind.DatasetMerge)
            ? renderer
            : throw new RenderInputException($"the lens engine cannot render '{FarmIds.Shorten(lens)}' as a {kind} item.");
    }

    /// <summary>The feature-visualization objective of <paramref name="lens"/>, for the CLI, which renders them without the farm.</summary>
    public static FeatureObjective? FeatureObjectiveOf(LensKind lens) =>
        All.OfType<FeatureVisualizationLens>().FirstOrDefault(r => r.Lens == lens)?.Objective;
}
