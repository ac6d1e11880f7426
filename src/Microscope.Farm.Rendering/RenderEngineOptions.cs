namespace Microscope.Farm.Rendering;

/// <summary>What a render silo's engine needs from configuration.</summary>
public sealed record RenderEngineOptions
{
    /// <summary>Dataset name → folder of images on this silo, for dataset examples.</summary>
    public IReadOnlyDictionary<string, string> Datasets { get; init; } = new Dictionary<string, string>();

    /// <summary>Append a line per actual render here (an audit trail of renders).</summary>
    public string? JournalPath { get; init; }

    /// <summary>Images per forward pass for dataset examples.</summary>
    public int ScanBatch { get; init; } = 16;
}
