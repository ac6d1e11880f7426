using System.Text.Json;
using System.Text.Json.Serialization;

namespace Microscope.Farm.Rendering;

/// <summary>One lens of one unit (−1: of the layer) as rendered: its image, quality figures and data.</summary>
public sealed record RenderedLens(int Unit, byte[] Png, IReadOnlyDictionary<string, double> Quality, object? Data = null);

/// <summary>The JSON stored beside every lens image: what it is, how it was made, how good it is, and its data.</summary>
public sealed record LensDocument(
    string Model,
    string ModelVersion,
    string Layer,
    int? Unit,
    string Lens,
    string OptionsHash,
    LensOptions Options,
    IReadOnlyDictionary<string, double> Quality,
    DateTimeOffset RenderedAt,
    JsonElement? Data)
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };
}

/// <summary>A request a render cannot serve however often it is tried (an unknown dataset, say): the item fails without retries.</summary>
public sealed class RenderInputException(string message) : Exception(message);
