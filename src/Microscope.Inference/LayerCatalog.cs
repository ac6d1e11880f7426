using System.Text.Json.Serialization;

namespace Microscope.Inference;

/// <summary>One layer that can be looked at.</summary>
/// <param name="Id">URL-safe, stable, unique within the model (an alias where the manifest gives one).</param>
/// <param name="Tensor">The ONNX tensor the layer is.</param>
/// <param name="Op">The op that produced it.</param>
/// <param name="Tensor">The tensor every lens reads: the layer's canonical N×C×H×W (or N×K) view of <see cref="Source"/>.</param>
/// <param name="Shape">C×H×W for feature maps (tokens on their patch grid), K for vectors (class scores, a class token), measured at the default input size.</param>
public sealed record Layer(string Id, string Tensor, string Op, string Node, int[] Shape)
{
    /// <summary>The model's own tensor; differs from <see cref="Tensor"/> where the layer is channels-last or tokens.</summary>
    public string Source { get; init; } = Tensor;

    /// <summary>The source tensor's axes, outermost first (N batch, C units, H, W, T tokens; "(T·N)" flattened together). See <see cref="Onnx.Layout.LayerLayout"/>.</summary>
    public string Layout { get; init; } = "";

    /// <summary>Tokens before the patch grid (a class token); each is also a layer of its own.</summary>
    public int ExtraTokens { get; init; }

    /// <summary>
    /// True when the model or the view writes out the positions' sizes (a ViT's token count, a
    /// Swin's windows): the layer exists only at the catalog's input size, so lenses feed that size.
    /// </summary>
    public bool FixedSize { get; init; }

    /// <summary>The network size lenses feed this layer: <paramref name="requested"/>, or the catalog's own size where the layer fixes it.</summary>
    public int NetworkSize(Onnx.VisionGraph vision, int requested) => FixedSize ? vision.Spec.Height : requested;

    /// <summary>For a layer that is one extra token of <see cref="Source"/> (the class token): its index; else null.</summary>
    public int? Token { get; init; }

    /// <summary>
    /// True when the layer is an affine function of the image (no nonlinearity between them, like a
    /// first convolution): maximizing one of its channels has no optimum inside the image's range,
    /// so its feature visualization is a flat colour with artefacts at the borders. See <see cref="Onnx.LayerGraph.AffineInImage"/>.
    /// </summary>
    public bool AffineInImage { get; init; }

    /// <summary>Channels of a feature map, outputs of a vector.</summary>
    public int Units => Shape[0];

    [JsonIgnore]
    public bool IsSpatial => Shape.Length == 3;

    [JsonIgnore]
    public string ShapeText => string.Join("×", Shape);
}

/// <summary>The layers of a model, in graph order, with what was assumed to find them.</summary>
public sealed record LayerCatalog(
    string Model,
    string Title,
    string Source,
    string Input,
    int[] InputSize,
    IReadOnlyList<string> Assumptions,
    IReadOnlyList<Layer> Layers)
{
    /// <summary>Tensors that looked like layers but are not (attention scores, heads split off), grouped by the reason.</summary>
    public IReadOnlyList<HiddenLayers> Hidden { get; init; } = [];

    /// <summary>The layer graph: which layer (or <see cref="Onnx.LayerGraph.Input"/>, the image) feeds which. See <see cref="Onnx.LayerGraph"/>.</summary>
    public IReadOnlyList<Onnx.LayerEdge> Edges { get; init; } = [];

    public int TotalUnits => Layers.Sum(l => l.Units);

    /// <summary>Finds a layer by id (or by its ONNX tensor name), or explains what exists.</summary>
    public Layer Find(string id)
    {
        var layer = Layers.FirstOrDefault(l => l.Id == id) ?? Layers.FirstOrDefault(l => l.Tensor == id) ?? Layers.FirstOrDefault(l => l.Source == id && l.Token is null);
        if (layer is not null)
        {
            return layer;
        }

        var close = Layers
            .Select(l => (l.Id, Distance: Distance(l.Id.ToLowerInvariant(), id.ToLowerInvariant())))
            .OrderBy(x => x.Distance)
            .Take(5)
            .Select(x => x.Id);
        throw new Onnx.UnknownLayerException($"model '{Model}' has no layer '{id}'; close matches: {string.Join(", ", close)} (see `microscope models inspect {Model}`).");
    }

    private static int Distance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }
}

/// <summary>Candidate tensors hidden for one reason, with a few of their would-be ids.</summary>
public sealed record HiddenLayers(string Reason, int Count, IReadOnlyList<string> Examples)
{
    public string Describe() =>
        $"{Count} tensor{(Count == 1 ? "" : "s")} with {Reason} (e.g. {string.Join(", ", Examples)})";
}
