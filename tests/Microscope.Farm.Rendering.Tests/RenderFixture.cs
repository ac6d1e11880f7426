using Microscope.Farm.Storage;
using Microscope.Inference;
using Microscope.Lenses;
using Microscope.Onnx;
using Microscope.Organisms;
using Microscope.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Microscope.Farm.Rendering.Tests;

/// <summary>
/// A small real model published to a filesystem lens store in a temporary folder, and a dataset of
/// ten noise images and one unreadable file. Tests that share it keep apart by options (another
/// seed, another top-k): the options hash is part of every stored name.
/// </summary>
public sealed class RenderFixture : IDisposable
{
    public const int Size = 32;

    public RenderFixture()
    {
        Directory.CreateDirectory(Folder);
        Store = new FileSystemLensStore(Path.Combine(Folder, "lenses"));
        ModelPath = Path.Combine(Folder, "small.onnx");
        File.WriteAllBytes(ModelPath, OnnxModelFile.ToBytes(TinyModel.SmallCnn(size: Size)));
        Model = ModelPackages.PublishFileAsync(Store, ModelPath).GetAwaiter().GetResult();
        Dataset = NewFolder("images");
        for (var i = 0; i < 10; i++)
        {
            File.WriteAllBytes(Path.Combine(Dataset, $"img{i}.png"), Png.Encode(Noise(i, Size), Size, Size));
        }

        File.WriteAllText(Path.Combine(Dataset, "broken.png"), "not an image");
    }

    public string Folder { get; } = Path.Combine(Path.GetTempPath(), "microscope-render-" + Guid.NewGuid().ToString("N")[..8]);

    public FileSystemLensStore Store { get; }

    public string ModelPath { get; }

    public ModelInfo Model { get; }

    public string Dataset { get; }

    /// <summary>The layer most tests render: a spatial convolution layer in the middle of the model.</summary>
    public LayerInfo Layer => Model.Layers[4];

    public void Dispose() => Directory.Delete(Folder, recursive: true);

    public string NewFolder(string name)
    {
        var path = Path.Combine(Folder, $"{name}-{Guid.NewGuid().ToString("N")[..6]}");
        Directory.CreateDirectory(path);
        return path;
    }

    /// <summary>A model cache in a fresh folder: every test sees the download from the store.</summary>
    public ModelCache Cache(ILensStore? store = null, int capacity = 4) =>
        new(store ?? Store, NewFolder("cache"), new SessionSettings(), NullLogger<ModelCache>.Instance, capacity);

    /// <param name="memory">The device memory the engine reads (the machine's when null).</param>
    public LensRenderEngine Engine(string? journal = null, ILensStore? store = null, IDeviceMemory? memory = null, ILogger<LensRenderEngine>? logger = null) =>
        new(store ?? Store, Cache(store), new RenderEngineOptions
        {
            Datasets = new Dictionary<string, string> { ["default"] = Dataset },
            JournalFolder = journal,
            ScanBatch = 4,
            DeviceMemory = memory ?? DeviceMemory.Default,
        }, logger);

    /// <summary>Few steps and small images: every lens renders in well under a second on this model.</summary>
    public WorkItem Item(string lens, IReadOnlyList<int> units, int seed = 1, int top = 3, string? layer = null, WorkKind kind = WorkKind.Render, int shard = 0, int shards = 1) =>
        new("job-1", 0, kind, Model.Id, Model.Version, layer ?? Layer.Id, lens, units,
            new LensOptions { Steps = 6, Size = Size, Seed = seed, DiversityImages = 2, Top = top }.For(lens), shard, shards, []);

    public static float[] Noise(int seed, int size)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, 3 * size * size).Select(_ => (float)random.NextDouble())];
    }
}
