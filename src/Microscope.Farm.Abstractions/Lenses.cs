namespace Microscope.Farm;

/// <summary>Whether a lens looks at one unit or at a whole layer.</summary>
public enum LensScope
{
    Unit,
    Layer,
}

/// <summary>A lens the farm renders: its name (as in URLs and the CLI), scope, and what it stores.</summary>
[GenerateSerializer, Immutable]
public sealed record LensKind(
    [property: Id(0)] string Name,
    [property: Id(1)] LensScope Scope,
    [property: Id(2)] bool NeedsGradients,
    [property: Id(3)] bool NeedsDataset,
    [property: Id(4)] string Description);

/// <summary>Every lens, by name. One spelling per lens everywhere: code, URLs, storage paths, docs.</summary>
public static class FarmLenses
{
    public static readonly LensKind FeatureVis = new("featurevis", LensScope.Unit, true, false, "Feature visualization: an image that maximizes the unit's mean activation (channel objective).");
    public static readonly LensKind Neuron = new("neuron", LensScope.Unit, true, false, "Feature visualization of the unit's centre neuron.");
    public static readonly LensKind Negative = new("negative", LensScope.Unit, true, false, "An image that minimizes the unit.");
    public static readonly LensKind Diversity = new("diversity", LensScope.Unit, true, false, "Several images that each excite the unit and differ from one another.");
    public static readonly LensKind DatasetExamples = new("dataset-examples", LensScope.Unit, false, true, "The dataset images that make the unit fire most (and least), cropped to its receptive field.");
    public static readonly LensKind Tuning = new("tuning", LensScope.Unit, false, false, "Synthetic tuning curves: the unit's response to a family of synthetic stimuli.");
    public static readonly LensKind DeepDream = new("deepdream", LensScope.Layer, true, false, "DeepDream of the whole layer from a seed image.");
    public static readonly LensKind Caricature = new("caricature", LensScope.Layer, true, false, "A caricature: an image whose layer activations exaggerate the seed image's.");

    public static IReadOnlyList<LensKind> All { get; } = [FeatureVis, Neuron, Negative, Diversity, DatasetExamples, Tuning, DeepDream, Caricature];

    public static LensKind Get(string name) =>
        All.FirstOrDefault(l => l.Name == name)
        ?? throw new FarmNotFoundException($"there is no lens '{(name.Length > 40 ? name[..40] : name)}'; lenses: {string.Join(", ", All.Select(l => l.Name))}.");
}
