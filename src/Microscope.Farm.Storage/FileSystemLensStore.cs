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
    private readonly string root;
    private readonly ConcurrentDictionary<(string Path, long Length, DateTime Modified), string> etags = new();

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
        File.Move(temp, full, overwrite: true);
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

    public async Task<StoredBlob?> GetAsync(string path, CancellationToken cancellationToken = default)
    {
        var full = Full(path);
        try
        {
            var bytes = await File.ReadAllBytesAsync(full, cancellationToken);
            var info = new FileInfo(full);
            return new StoredBlob(bytes, ContentTypes.For(path), ETagOf(full, bytes, info), bytes.Length, info.LastWriteTimeUtc);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    public Task<StoredStream?> OpenReadAsync(string path, long? offset = null, long? length = null, CancellationToken cancellationToken = default)
    {
        var full = Full(path);
        FileStream stream;
        try
        {
            stream = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 81920, useAsync: true);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return Task.FromResult<StoredStream?>(null);
        }

        var total = stream.Length;
        var start = Math.Clamp(offset ?? 0, 0, total);
        var count = Math.Clamp(length ?? total - start, 0, total - start);
        stream.Position = start;
        var info = new FileInfo(full);
        var etag = etags.TryGetValue((full, info.Length, info.LastWriteTimeUtc), out var known) ? known : ETagOf(full, File.ReadAllBytes(full), info);
        return Task.FromResult<StoredStream?>(new StoredStream(new BoundedStream(stream, count), ContentTypes.For(path), etag, total, start, count, info.LastWriteTimeUtc));
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

    /// <summary>A strong ETag from the content's hash, cached by path, length and write time.</summary>
    private string ETagOf(string full, byte[] bytes, FileInfo info) =>
        etags.GetOrAdd((full, info.Length, info.LastWriteTimeUtc), _ => $"\"{Convert.ToHexStringLower(SHA256.HashData(bytes))[..32]}\"");

    private static async Task<string> WriteTempAsync(string full, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        var temp = TempFor(full);
        await using var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 4096, useAsync: true);
        await file.WriteAsync(content, cancellationToken);
        await file.FlushAsync(cancellationToken);
        return temp;
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
