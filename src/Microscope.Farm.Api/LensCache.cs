using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Microscope.Farm.Storage;

namespace Microscope.Farm.Api;

/// <summary>
/// What the lens route serves again and again, kept in memory: the stored lenses themselves
/// (<see cref="ImmutableBlobCache"/>: content-addressed, so never stale), and for a couple of seconds
/// which record a lens URL resolves to, so that a hot URL costs no grain call. A newer render of the
/// same lens shows at its options-less URL once that moment has passed.
/// </summary>
public sealed class LensCache(ImmutableBlobCache blobs, TimeSpan recordLifetime, TimeProvider time)
{
    private const int MaxRoutes = 100_000;
    private readonly ConcurrentDictionary<string, (LensRecord Record, DateTimeOffset Expires)> records = new(StringComparer.Ordinal);

    /// <summary>The record the lens URL resolved to moments ago, or null.</summary>
    public LensRecord? Record(string route) =>
        records.TryGetValue(route, out var entry) && entry.Expires > time.GetUtcNow() ? entry.Record : null;

    public void Remember(string route, LensRecord record)
    {
        if (records.Count >= MaxRoutes)
        {
            records.Clear();
        }

        records[route] = (record, time.GetUtcNow() + recordLifetime);
    }

    /// <summary>The stored blob's bytes (without a copy when the store gave a whole array) and how to describe it; null when the store has none.</summary>
    public async Task<(byte[] Content, StoredBlob Blob)?> GetAsync(string path, CancellationToken cancellationToken)
    {
        var blob = await blobs.GetAsync(path, cancellationToken);
        if (blob is null)
        {
            return null;
        }

        var whole = MemoryMarshal.TryGetArray(blob.Content, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length;
        return (whole ? segment.Array! : blob.Content.ToArray(), blob);
    }
}
