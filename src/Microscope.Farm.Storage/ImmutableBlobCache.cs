using System.Collections.Concurrent;

namespace Microscope.Farm.Storage;

/// <summary>
/// A read-through cache in memory of blobs that never change once written: the content-addressed
/// lenses (<see cref="LensPaths"/>), which the read API serves again and again. A cached copy never
/// goes stale, so nothing expires; the cache is bounded by bytes and lets the oldest entries go first.
/// Blobs larger than <see cref="LargestCached"/> are read from the store every time.
/// </summary>
public sealed class ImmutableBlobCache(ILensStore store, long capacityBytes)
{
    public const int LargestCached = 4 * 1024 * 1024;

    private readonly ConcurrentDictionary<string, StoredBlob> blobs = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> order = new();
    private long bytes;

    /// <summary>Bytes held now; at most the capacity once a call has returned.</summary>
    public long Bytes => Interlocked.Read(ref bytes);

    public int Count => blobs.Count;

    /// <summary>The blob at <paramref name="path"/>, from memory or else read once from the store; null when the store has none.</summary>
    public async Task<StoredBlob?> GetAsync(string path, CancellationToken cancellationToken = default)
    {
        if (blobs.TryGetValue(path, out var cached))
        {
            return cached;
        }

        var blob = await store.GetAsync(path, cancellationToken);
        if (blob is null || blob.Content.Length > LargestCached || blob.Content.Length > capacityBytes)
        {
            return blob;
        }

        if (blobs.TryAdd(path, blob))
        {
            order.Enqueue(path);
            Interlocked.Add(ref bytes, blob.Content.Length);
            while (Interlocked.Read(ref bytes) > capacityBytes && order.TryDequeue(out var oldest))
            {
                if (blobs.TryRemove(oldest, out var gone))
                {
                    Interlocked.Add(ref bytes, -gone.Content.Length);
                }
            }
        }

        return blob;
    }
}
