using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;

namespace Microscope.Farm.Storage;

/// <summary>
/// The lens store in a folder, same layout as the blob store. Writes go to a hidden temporary file
/// in the destination folder and are renamed into place (atomic on one filesystem); create-once
/// writes rename without overwriting, so of concurrent writers exactly one wins.
/// </summary>
public sealed class FileSystemLensStore : ILensStore
{
    private const string TempPrefix = ".tmp-";
    private const long CachedHashBytes = 1 << 20;
    private readonly string root;
    private readonly ConcurrentDictionary<string, (long Length, DateTime Modified, string ETag)> largeETags = new();

    public FileSystemLensStore(string root)
    {
        this.root = Path.GetFullPath(root);
        Directory.CreateDirectory(this.root);
    }

    public string Describe => $"filesystem {root}";

    public async Task<bool> PutIfAbsentAsync(string path, ReadOnlyMemory<byte> content, string contentType, CancellationToken cancellationToken = default)
    {
        var full = Full(path);
        if (File.Exists(full))
        {
            return false;
        }

        var temp = await WriteTempAsync(full, content, cancellationToken);
        try
        {
            File.Move(temp, full, overwrite: false);
            return true;
        }
        catch (IOException) when (File.Exists(full))
        {
            return false;
        }
        finally
        {
            File.Delete(temp);
        }
    }

    public async Task PutAsync(string path, ReadOnlyMemory<byte> content, string contentType, CancellationToken cancellationToken = default)
    {
        var full = Full(path);
        var temp = await WriteTempAsync(full, content, cancellationToken);
        try
        {
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    public async Task PutStreamAsync(string path, Stream content, string contentType, long? maxBytes, CancellationToken cancellationToken = default)
    {
        var full = Full(path);
        var temp = TempFor(full);
        try
        {
            await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, useAsync: true))
            {
                var buffer = new byte[81920];
                long total = 0;
                int read;
                while ((read = await content.ReadAsync(buffer, cancellationToken)) > 0)
                {
                    total += read;
                    if (total > maxBytes)
                    {
                        throw new LensStoreQuotaException($"the upload is larger than the limit of {maxBytes} bytes; nothing was stored.");
                    }

                    await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                }

                await file.FlushAsync(cancellationToken);
            }

            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    /// <summary>
    /// Content, length and time all come from one open handle: files are only ever replaced by a
    /// rename, never written in place, so the handle sees one complete version even while a writer
    /// replaces the path.
    /// </summary>
    public async Task<StoredBlob?> GetAsync(string path, CancellationToken cancellationToken = default)
    {
        await using var file = OpenOrNull(Full(path));
        if (file is null)
        {
            return null;
        }

        var bytes = new byte[file.Length];
        await file.ReadExactlyAsync(bytes, cancellationToken);
        return new StoredBlob(bytes, ContentTypes.For(path), ETagOf(bytes), bytes.Length, File.GetLastWriteTimeUtc(file.SafeFileHandle));
    }

    public async Task<StoredStream?> OpenReadAsync(string path, long? offset = null, long? length = null, CancellationToken cancellationToken = default)
    {
        var full = Full(path);
        var file = OpenOrNull(full);
        if (file is null)
        {
            return null;
        }

        try
        {
            var total = file.Length;
            var modified = File.GetLastWriteTimeUtc(file.SafeFileHandle);
            var etag = await ETagOfAsync(full, file, modified, cancellationToken);
            var start = Math.Clamp(offset ?? 0, 0, total);
            var count = Math.Clamp(length ?? total - start, 0, total - start);
            file.Position = start;
            return new StoredStream(new BoundedStream(file, count), ContentTypes.For(path), etag, total, start, count, modified);
        }
        catch
        {
            await file.DisposeAsync();
            throw;
        }
    }

    public Task<bool> ExistsAsync(string path, CancellationToken cancellationToken = default) => Task.FromResult(File.Exists(Full(path)));

    public async IAsyncEnumerable<string> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await Task.Yield();
        var folder = prefix.Contains('/', StringComparison.Ordinal) ? prefix[..(prefix.LastIndexOf('/') + 1)] : "";
        var start = Full(folder.Length == 0 ? "." : folder.TrimEnd('/'));
        if (!Directory.Exists(start))
        {
            yield break;
        }

        var paths = Directory.EnumerateFiles(start, "*", SearchOption.AllDirectories)
            .Where(f => !Path.GetFileName(f).StartsWith(TempPrefix, StringComparison.Ordinal))
            .Select(f => Path.GetRelativePath(root, f).Replace('\\', '/'))
            .Where(p => p.StartsWith(prefix, StringComparison.Ordinal))
            .Order(StringComparer.Ordinal);
        foreach (var path in paths)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return path;
        }
    }

    public Task<bool> DeleteAsync(string path, CancellationToken cancellationToken = default)
    {
        var full = Full(path);
        if (!File.Exists(full))
        {
            return Task.FromResult(false);
        }

        File.Delete(full);
        return Task.FromResult(true);
    }

    /// <summary>A strong ETag: the content's hash, so the same content has the same tag in every process.</summary>
    private static string ETagOf(ReadOnlySpan<byte> content) => Quote(SHA256.HashData(content));

    /// <summary>
    /// The ETag of an open file without loading it: small files are hashed on every open (one more
    /// read of at most 1 MiB), large ones (models) once per version. Only large files are cached, keyed by
    /// path and holding one entry each, so rewritten manifests do not grow the cache. A version is
    /// recognised by length and write time; large files are content-addressed and written once.
    /// </summary>
    private async Task<string> ETagOfAsync(string full, FileStream file, DateTime modified, CancellationToken cancellationToken)
    {
        var length = file.Length;
        if (length >= CachedHashBytes && largeETags.TryGetValue(full, out var known) && known.Length == length && known.Modified == modified)
        {
            return known.ETag;
        }

        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[81920];
        int read;
        for (long at = 0; (read = await RandomAccess.ReadAsync(file.SafeFileHandle, buffer, at, cancellationToken)) > 0; at += read)
        {
            hash.AppendData(buffer, 0, read);
        }

        var etag = Quote(hash.GetHashAndReset());
        if (length >= CachedHashBytes)
        {
            largeETags[full] = (length, modified, etag);
        }

        return etag;
    }

    private static string Quote(byte[] sha256) => $"\"{Convert.ToHexStringLower(sha256)[..32]}\"";

    private static FileStream? OpenOrNull(string full)
    {
        try
        {
            // Delete sharing: an open reader must not stop an overwrite (rename) or a delete.
            return new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 81920, useAsync: true);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    /// <summary>Writes the content to a new hidden file next to the destination; on failure nothing is left.</summary>
    private static async Task<string> WriteTempAsync(string full, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        var temp = TempFor(full);
        try
        {
            await using var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 4096, useAsync: true);
            await file.WriteAsync(content, cancellationToken);
            await file.FlushAsync(cancellationToken);
            return temp;
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }

    private static string TempFor(string full)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        return Path.Combine(Path.GetDirectoryName(full)!, TempPrefix + Guid.NewGuid().ToString("N"));
    }

    /// <summary>The full path, refused when it would leave the root (paths should come from <see cref="LensPaths"/>).</summary>
    private string Full(string path)
    {
        if (string.IsNullOrEmpty(path) || path.Contains('\\') || path.Split('/').Any(s => s is ".." || s.StartsWith(TempPrefix, StringComparison.Ordinal)))
        {
            throw new ArgumentException($"'{path}' is not a store path.");
        }

        var full = Path.GetFullPath(Path.Combine(root, path));
        return full == root || full.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal)
            ? full
            : throw new ArgumentException($"'{path}' is outside the store.");
    }
}
