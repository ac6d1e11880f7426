namespace Microscope.Farm;

/// <summary>Whether a lens looks at one unit or at a whole layer.</summary>
public enum LensScope
{
    Unit,
    Layer,
}

/// <summary>
/// The render options a lens reads. <see cref="LensOptions.For(LensKind)"/> resets every other one
/// to its default, so that a stored lens's name changes only when its picture would.
/// </summary>
[Flags]
public enum LensOptionFields
{
    None = 0,
    Steps = 1,
    Size = 2,
    Seed = 4,
    Fourier = 8,
    Transforms = 16,
    DiversityImages = 32,
    Top = 64,
    Dataset = 128,
    Family = 256,
    ReluRedirect = 512,

    /// <summary>What every image optimized through the model's gradient reads.</summary>
    Optimization = Steps | Size | Seed | Fourier | Transforms,

    /// <summary>What feature visualization reads: the optimization's options and Lucid's redirected ReLU gradient.</summary>
    FeatureVisualization = Optimization | ReluRedirect,
}

/// <summary>
/// A lens the farm renders, described once: its id (as in URLs, storage paths and the CLI's
/// <c>--lens</c>), a title and a description for people, its scope, what it needs (gradients, a
/// dataset), the options it reads and the kinds of file it stores per unit (or per layer). Its
/// renderer is registered beside it on render silos (<c>Microscope.Farm.Rendering.LensRenderers</c>).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record LensKind(
    [property: Id(0)] string Name,
    [property: Id(1)] LensScope Scope,
    [property: Id(2)] bool NeedsGradients,
    [property: Id(3)] bool NeedsDataset,
    [property: Id(4)] string Description,
    [property: Id(5)] string Title,
    [property: Id(6)] LensOptionFields Reads,
    [property: Id(7)] IReadOnlyList<string> Files)
{
    /// <summary>The names of the options this lens reads, as the API's query and the lens documents spell them.</summary>
    public IReadOnlyList<string> Options => LensOptions.FieldNames(Reads);

    /// <summary>True for a lens only layers affine in the image have (the first convolution's weights): a job over every layer renders it there only.</summary>
    [Id(8)]
    public bool OnlyAffineInImage { get; init; }
}

/// <summary>
/// The lens registry: every lens, in the order the UI shows them. One spelling per lens everywhere:
/// code, URLs, storage paths, docs. The planner, the engine, the CLI, the API (<c>GET /api/lenses</c>)
/// and the web UI all read their lenses from here; adding a lens is one entry here and one renderer.
/// </summary>
public static class FarmLenses
{
    /// <summary>Every lens stores an image and a JSON document (options, quality figures, the lens's data).</summary>
    private static readonly IReadOnlyList<string> ImageAndData = ["png", "json"];

    public static readonly LensKind FeatureVis = new("featurevis", LensScope.Unit, true, false,
        "An image that maximizes the unit's mean activation over the channel (the channel objective).",
        "Feature visualization", LensOptionFields.FeatureVisualization, ImageAndData);

    public static readonly LensKind Neuron = new("neuron", LensScope.Unit, true, false,
        "Feature visualization of the unit's centre neuron: an image that maximizes the channel at the middle position only.",
        "Neuron", LensOptionFields.FeatureVisualization, ImageAndData);

    public static readonly LensKind Negative = new("negative", LensScope.Unit, true, false,
        "An image that minimizes the unit.",
        "Negative", LensOptionFields.FeatureVisualization, ImageAndData);

    public static readonly LensKind Diversity = new("diversity", LensScope.Unit, true, false,
        "Several images that each excite the unit and differ from one another.",
        "Diversity", LensOptionFields.FeatureVisualization | LensOptionFields.DiversityImages, ImageAndData);

    public static readonly LensKind DatasetExamples = new("dataset-examples", LensScope.Unit, false, true,
        "The dataset images that make the unit fire most (and least), cropped to its receptive field, with their activations.",
        "Dataset examples", LensOptionFields.Top | LensOptionFields.Dataset, ImageAndData);

    public static readonly LensKind Tuning = new("tuning", LensScope.Unit, false, false,
        "Synthetic tuning curves: the unit's response to a family of synthetic stimuli.",
        "Tuning curves", LensOptionFields.Family, ImageAndData);

    public static readonly LensKind DeepDream = new("deepdream", LensScope.Layer, true, false,
        "DeepDream of the whole layer from a seed image.",
        "DeepDream", LensOptionFields.Steps | LensOptionFields.Seed, ImageAndData);

    public static readonly LensKind Caricature = new("caricature", LensScope.Layer, true, false,
        "A caricature: an image whose layer activations exaggerate the seed image's.",
        "Caricature", LensOptionFields.Optimization, ImageAndData);

    public static readonly LensKind Weights = new("weights", LensScope.Unit, true, false,
        "The unit's kernel over the image as an RGB picture, scaled up (grey is 0; the colour scale is in its JSON). Only layers affine in the image have it: a first convolution.",
        "Weights", LensOptionFields.None, ImageAndData) { OnlyAffineInImage = true };

    public static IReadOnlyList<LensKind> All { get; } = [FeatureVis, Neuron, Negative, Diversity, DatasetExamples, Tuning, DeepDream, Caricature, Weights];

    /// <summary>The lens named <paramref name="name"/>; the error lists the lenses there are.</summary>
    public static LensKind Get(string name) =>
        Find(name) ?? throw new FarmNotFoundException($"there is no lens '{FarmIds.Shorten(name)}'; lenses: {string.Join(", ", All.Select(l => l.Name))}.");

    public static LensKind? Find(string name) => All.FirstOrDefault(l => l.Name == name);
}
