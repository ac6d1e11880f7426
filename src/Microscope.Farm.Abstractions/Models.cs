namespace Microscope.Farm;

/// <summary>A layer of a registered model, as its catalog describes it.</summary>
[GenerateSerializer, Immutable]
public sealed record LayerInfo(
    [property: Id(0)] string Id,
    [property: Id(1)] string Op,
    [property: Id(2)] IReadOnlyList<int> Shape,
    [property: Id(3)] int Index)
{
    /// <summary>How the model's own tensor holds the layer ("N,C,H,W", "N,H,W,C", "(T·N),C"); its <see cref="Shape"/> is always C×H×W or K.</summary>
    [Id(4)]
    public string Layout { get; init; } = "";

    /// <summary>True when the layer is affine in the image (no nonlinearity between them): its channel objective's feature visualization is a flat colour, so its default is the neuron objective.</summary>
    [Id(5)]
    public bool AffineInImage { get; init; }

    public int Units => Shape[0];

    public bool IsSpatial => Shape.Count == 3;
}

/// <summary>
/// A model organism as the farm holds it. <see cref="Version"/> is the content hash of its stored
/// files, so two uploads of the same bytes are one version and every stored lens names the exact
/// model that produced it.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record ModelInfo(
    [property: Id(0)] string Id,
    [property: Id(1)] string Version,
    [property: Id(2)] string Title,
    [property: Id(3)] string Source,
    [property: Id(4)] IReadOnlyList<LayerInfo> Layers,
    [property: Id(5)] string PackagePath,
    [property: Id(6)] IReadOnlyList<string> Lenses,
    [property: Id(7)] IReadOnlyList<string> Notes,
    [property: Id(8)] DateTimeOffset RegisteredAt)
{
    /// <summary>The layer graph's edges ("input" is the image), from the catalog of this version; served by /api/models/{m}/graph, not with the model.</summary>
    [Id(9), System.Text.Json.Serialization.JsonIgnore]
    public IReadOnlyList<LayerEdgeInfo> Edges { get; init; } = [];

    /// <summary>The image's shape at the catalog's size: 3×H×W.</summary>
    [Id(10)]
    public IReadOnlyList<int> InputShape { get; init; } = [];

    public int TotalUnits => Layers.Sum(l => l.Units);

    public LayerInfo Layer(string id) =>
        Layers.FirstOrDefault(l => l.Id == id)
        ?? throw new FarmNotFoundException($"model '{Id}' has no layer '{FarmIds.Shorten(id)}'.");
}

/// <summary>"<paramref name="From"/> feeds <paramref name="To"/>" in a model's layer graph: a path through no other layer ("input" is the image).</summary>
[GenerateSerializer, Immutable]
public sealed record LayerEdgeInfo([property: Id(0)] string From, [property: Id(1)] string To);

/// <summary>A layer's index of its units' stored lenses.</summary>
[GenerateSerializer, Immutable]
public sealed record LayerState(
    [property: Id(0)] string Model,
    [property: Id(1)] string Layer,
    [property: Id(2)] IReadOnlyDictionary<int, IReadOnlyList<string>> UnitLenses,
    [property: Id(3)] IReadOnlyList<LensRecord> LayerLenses);

/// <summary>How many units of a layer have any stored lens, and how many have each lens; the layer lenses it has.</summary>
[GenerateSerializer, Immutable]
public sealed record LayerSummary(
    [property: Id(0)] int RenderedUnits,
    [property: Id(1)] IReadOnlyDictionary<string, int> UnitsByLens,
    [property: Id(2)] IReadOnlyList<string> LayerLenses);

/// <summary>A unit's stored lenses.</summary>
[GenerateSerializer, Immutable]
public sealed record UnitState(
    [property: Id(0)] string Model,
    [property: Id(1)] string Layer,
    [property: Id(2)] int Unit,
    [property: Id(3)] IReadOnlyList<LensRecord> Lenses);

/// <summary>Where a model's intake is: its package staged and waiting for a render silo, catalogued and registered, or refused.</summary>
public enum ModelIntakeState
{
    Pending,
    Ready,
    Failed,
}

/// <summary>
/// A model upload after the request: which version, its intake job, and its state; <see cref="Reason"/>
/// says why a failed intake failed (what the catalog found wrong with the model).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record ModelIntakeStatus(
    [property: Id(0)] string Model,
    [property: Id(1)] string Version,
    [property: Id(2)] ModelIntakeState State,
    [property: Id(3)] string? Reason,
    [property: Id(4)] string? Job,
    [property: Id(5)] DateTimeOffset SubmittedAt);
