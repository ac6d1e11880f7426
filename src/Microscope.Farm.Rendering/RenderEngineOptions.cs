using Microscope.Inference;
using Microscope.Lenses;

namespace Microscope.Farm.Rendering;

/// <summary>What a render silo's engine needs from configuration.</summary>
public sealed record RenderEngineOptions
{
    /// <summary>Dataset name → folder of images on this silo, for dataset examples.</summary>
    public IReadOnlyDictionary<string, string> Datasets { get; init; } = new Dictionary<string, string>();

    /// <summary>A folder where each process appends a line per actual render to its own file (an audit trail of renders).</summary>
    public string? JournalFolder { get; init; }

    /// <summary>Images per forward pass for dataset examples.</summary>
    public int ScanBatch { get; init; } = 16;

    /// <summary>How feature visualizations split an item's units into passes that fit the device's memory.</summary>
    public BatchSizing Sizing { get; init; } = new();

    /// <summary>Where the device's free memory is read (tests supply a reading).</summary>
    public IDeviceMemory DeviceMemory { get; init; } = Inference.DeviceMemory.Default;
}
