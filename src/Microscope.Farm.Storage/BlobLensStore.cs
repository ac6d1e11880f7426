using System.Runtime.CompilerServices;
using Azure;
using Azure.Core;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;

namespace Microscope.Farm.Storage;

/// <summary>
/// The lens store in an Azure Blob Storage container (Azurite locally). One Put Blob per write is
/// atomic; create-once writes carry If-None-Match: *, so the service itself decides the one winner.
/// Large uploads are staged as blocks and become visible only when the block list is committed.
/// </summary>
public sealed class BlobLensStore(BlobContainerClient container) : ILensStore
{
    public string Describe => $"azure blob {container.Uri}";

    /// <summary>
    /// A store on the container, created if missing. The SDK retries little and quickly, and a hung
    /// connection fails after 10 s instead of the SDK's 100: long outages are the
    /// <see cref="ResilientLensStore"/>'s to ride out within its budget.
    /// </summary>
    public static BlobLensStore Create(string connectionString, string containerName) =>
        Create(new BlobServiceClient(connectionString, ClientOptions()), containerName);

    /// <summary>A store on a container of <paramref name="service"/> (made with <see cref="ClientOptions"/>, say with a token credential), created if missing.</summary>
    public static BlobLensStore Create(BlobServiceClient service, string containerName)
    {
        var container = service.GetBlobContainerClient(containerName);
        container.CreateIfNotExists();
        return new BlobLensStore(container);
    }

    /// <summary>Few, quick retries and a 10 s network timeout (see <see cref="Create(string, string)"/>).</summary>
    public static BlobClientOptions ClientOptions()
    {
        var options = new BlobClientOptions();
        options.Retry.MaxRetries = 2;
        options.Retry.Delay = TimeSpan.FromMilliseconds(200);
        options.Retry.Mode = RetryMode.Exponential;
        options.Retry.NetworkTimeout = TimeSpan.FromSeconds(10);
        return options;
    }

    public async Task<bool> PutIfAbsentAsync(string path, ReadOnlyMemory<byte> content, string contentType, CancellationToken cancellationToken = default)
    {
        try
        {
            await Blob(path).UploadAsync(BinaryData.FromBytes(content), new BlobUploadOptions
            {
                HttpHeaders = new BlobHttpHeaders { ContentType = contentType },
                Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All },
            }, cancellationToken);
            return true;
        }
        catch (RequestFailedException e) when (e.Status is 409 or 412)
        {
            return false;
        }
    }

    public async Task PutAsync(string path, ReadOnlyMemory<byte> content, string contentType, CancellationToken cancellationToken = default) =>
        await Blob(path).UploadAsync(BinaryData.FromBytes(content), new BlobUploadOptions { HttpHeaders = new BlobHttpHeaders { ContentType = contentType } }, cancellationToken);

    public async Task PutStreamAsync(string path, Stream content, string contentType, long? maxBytes, CancellationToken cancellationToken = default)
    {
        var counted = maxBytes is { } max ? new LimitedStream(content, max) : content;
        // 4 MiB blocks: one block must get through within the 10 s network timeout on a slow link.
        await Blob(path).UploadAsync(counted, new BlobUploadOptions
        {
            HttpHeaders = new BlobHttpHeaders { ContentType = contentType },
            TransferOptions = new Azure.Storage.StorageTransferOptions { InitialTransferSize = 4 << 20, MaximumTransferSize = 4 << 20 },
        }, cancellationToken);
    }

    public async Task<StoredBlob?> GetAsync(string path, CancellationToken cancellationToken = default)
    {
        try
        {
            var result = await Blob(path).DownloadContentAsync(cancellationToken);
            var details = result.Value.Details;
            return new StoredBlob(result.Value.Content.ToMemory(), details.ContentType ?? ContentTypes.For(path), details.ETag.ToString("H"), details.ContentLength, details.LastModified);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }

    public async Task<StoredStream?> OpenReadAsync(string path, long? offset = null, long? length = null, CancellationToken cancellationToken = default)
    {
        if (length == 0)
        {
            return await EmptyRangeAsync(path, offset, cancellationToken);
        }

        try
        {
            var range = offset is null && length is null ? default : new HttpRange(offset ?? 0, length);
            var result = await Blob(path).DownloadStreamingAsync(new BlobDownloadOptions { Range = range }, cancellationToken);
            var details = result.Value.Details;
            var total = details.ContentRange is { } r && r.Contains('/', StringComparison.Ordinal) ? long.Parse(r[(r.LastIndexOf('/') + 1)..], System.Globalization.CultureInfo.InvariantCulture) : details.ContentLength;
            return new StoredStream(result.Value.Content, details.ContentType ?? ContentTypes.For(path), details.ETag.ToString("H"), total, offset ?? 0, details.ContentLength, details.LastModified);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
        catch (RequestFailedException e) when (e.Status == 416)
        {
            return await EmptyRangeAsync(path, offset, cancellationToken);
        }
    }

    /// <summary>
    /// A range that holds nothing (at or past the end, or zero long), answered as the filesystem store
    /// does, an empty stream with the total length, so an HTTP API can say "bytes */total".
    /// </summary>
    private async Task<StoredStream?> EmptyRangeAsync(string path, long? offset, CancellationToken cancellationToken)
    {
        try
        {
            var properties = (await Blob(path).GetPropertiesAsync(cancellationToken: cancellationToken)).Value;
            var total = properties.ContentLength;
            return new StoredStream(new MemoryStream([], writable: false), properties.ContentType ?? ContentTypes.For(path), properties.ETag.ToString("H"),
                total, Math.Clamp(offset ?? 0, 0, total), 0, properties.LastModified);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }

    public async Task<bool> ExistsAsync(string path, CancellationToken cancellationToken = default) => (await Blob(path).ExistsAsync(cancellationToken)).Value;

    public async IAsyncEnumerable<string> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var item in container.GetBlobsAsync(BlobTraits.None, BlobStates.None, prefix, cancellationToken))
        {
            yield return item.Name;
        }
    }

    public async Task<bool> DeleteAsync(string path, CancellationToken cancellationToken = default) => (await Blob(path).DeleteIfExistsAsync(cancellationToken: cancellationToken)).Value;

    private BlobClient Blob(string path) =>
        string.IsNullOrEmpty(path) || path.Split('/').Any(s => s is "" or "." or "..") || path.Contains('\\')
            ? throw new ArgumentException($"'{path}' is not a store path.")
            : container.GetBlobClient(path);

    /// <summary>Throws once more than the limit was read, before the block list is committed: nothing becomes visible.</summary>
    private sealed class LimitedStream(Stream inner, long max) : Stream
    {
        private long total;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => total; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => Count(await inner.ReadAsync(buffer, cancellationToken));

        public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => Count(await inner.ReadAsync(buffer.AsMemory(offset, count), cancellationToken));

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        private int Count(int read)
        {
            total += read;
            return total > max ? throw new LensStoreQuotaException($"the upload is larger than the limit of {max} bytes; nothing was stored.") : read;
        }
    }
}
