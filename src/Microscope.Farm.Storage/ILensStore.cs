namespace Microscope.Farm.Storage;

/// <summary>A stored blob read whole: its bytes and properties.</summary>
/// <param name="ETag">A strong entity tag, quoted ("…"): the same content always has the same tag.</param>
public sealed record StoredBlob(ReadOnlyMemory<byte> Content, string ContentType, string ETag, long Length, DateTimeOffset LastModified);

/// <summary>A stored blob opened for reading (a range of it, when asked): dispose the stream.</summary>
public sealed record StoredStream(Stream Content, string ContentType, string ETag, long TotalLength, long Offset, long Length, DateTimeOffset LastModified) : IAsyncDisposable
{
    public ValueTask DisposeAsync() => Content.DisposeAsync();
}

/// <summary>
/// Where lenses live. Paths come from <see cref="LensPaths"/>. Lens paths are content-addressed and
/// written once (<see cref="PutIfAbsentAsync"/>); manifests are overwritten (<see cref="PutAsync"/>).
/// Every write is atomic: a reader sees the old content, the new content, or nothing, never a part.
/// </summary>
public interface ILensStore
{
    /// <summary>Where the store is, for logs: "filesystem /data/lenses", "azure blob http://…/lenses".</summary>
    string Describe { get; }

    /// <summary>Writes unless the path exists. True when written now; false when it existed (then nothing changes).</summary>
    Task<bool> PutIfAbsentAsync(string path, ReadOnlyMemory<byte> content, string contentType, CancellationToken cancellationToken = default);

    /// <summary>Writes or replaces.</summary>
    Task PutAsync(string path, ReadOnlyMemory<byte> content, string contentType, CancellationToken cancellationToken = default);

    /// <summary>Streams a large upload in, replacing what was there; over <paramref name="maxBytes"/> it throws <see cref="LensStoreQuotaException"/> and stores nothing.</summary>
    Task PutStreamAsync(string path, Stream content, string contentType, long? maxBytes, CancellationToken cancellationToken = default);

    /// <summary>The whole blob, or null when there is none.</summary>
    Task<StoredBlob?> GetAsync(string path, CancellationToken cancellationToken = default);

    /// <summary>A stream over the blob or a range of it (<paramref name="offset"/>, <paramref name="length"/>), or null when there is none.</summary>
    Task<StoredStream?> OpenReadAsync(string path, long? offset = null, long? length = null, CancellationToken cancellationToken = default);

    Task<bool> ExistsAsync(string path, CancellationToken cancellationToken = default);

    /// <summary>Every path under the prefix, in ordinal order.</summary>
    IAsyncEnumerable<string> ListAsync(string prefix, CancellationToken cancellationToken = default);

    /// <summary>True when something was deleted.</summary>
    Task<bool> DeleteAsync(string path, CancellationToken cancellationToken = default);
}

/// <summary>The store could not be reached for the whole retry budget: work should pause and be handed back, not failed.</summary>
public sealed class LensStoreUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>An upload was larger than allowed; nothing was stored.</summary>
public sealed class LensStoreQuotaException(string message) : Exception(message);
