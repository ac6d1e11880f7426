namespace Microscope.Lenses.DatasetExamples;

/// <summary>
/// The example images of one merge (or one CLI run), decoded and resized to the scan size once each
/// and shared by every unit that shows them: popular images are among the top examples of hundreds
/// of units, and a JPEG decode costs far more than the crops drawn from it. Bounded: the least
/// recently used images are dropped past <see cref="Capacity"/>. Safe for the parallel mosaics of a
/// merge; an image asked for by several threads at once is decoded once.
/// </summary>
public sealed class ExampleImages
{
    /// <summary>Memory for decoded images when none is given: 256 MiB, about 440 images at 224² (3 floats a pixel).</summary>
    public const long DefaultBytes = 256L << 20;

    private readonly Func<string, float[]> load;
    private readonly Dictionary<string, LinkedListNode<(string Id, Lazy<float[]> Image)>> entries = new(StringComparer.Ordinal);
    private readonly LinkedList<(string Id, Lazy<float[]> Image)> recent = [];
    private readonly Lock gate = new();
    private int decodes;

    /// <param name="load">An image's planar RGB at <paramref name="size"/>²; throws for an unreadable one.</param>
    public ExampleImages(Func<string, float[]> load, int size, long maxBytes = DefaultBytes)
    {
        this.load = load;
        Size = size;
        Capacity = (int)Math.Clamp(maxBytes / (3L * size * size * sizeof(float)), 1, int.MaxValue);
    }

    /// <summary>Images of a folder, by id relative to it.</summary>
    public static ExampleImages InFolder(string folder, int size, long maxBytes = DefaultBytes) =>
        new(id => SeedImages.Load(Path.Combine(folder, id), size), size, maxBytes);

    public int Size { get; }

    /// <summary>Most images kept at once.</summary>
    public int Capacity { get; }

    /// <summary>Images decoded so far (a re-decode after eviction counts again).</summary>
    public int Decodes => Volatile.Read(ref decodes);

    public float[] Get(string id)
    {
        Lazy<float[]> image;
        lock (gate)
        {
            if (entries.TryGetValue(id, out var node))
            {
                recent.Remove(node);
                recent.AddFirst(node);
                image = node.Value.Image;
            }
            else
            {
                image = new Lazy<float[]>(() =>
                {
                    Interlocked.Increment(ref decodes);
                    return load(id);
                }, LazyThreadSafetyMode.ExecutionAndPublication);
                entries[id] = recent.AddFirst((id, image));
                while (recent.Count > Capacity)
                {
                    entries.Remove(recent.Last!.Value.Id);
                    recent.RemoveLast();
                }
            }
        }

        return image.Value;
    }
}
