using System.Security.Cryptography;
using Orleans.Runtime;
using Orleans.Serialization;
using Orleans.Storage;

namespace Microscope.Farm.Host;

/// <summary>
/// Grain state as files, for the embedded default (no external services): one file per grain and
/// state name, written to a temporary file and renamed over the old one, so a crash leaves either
/// the old state or the new one. Optimistic concurrency by ETag, as every Orleans storage provider.
/// </summary>
internal sealed class FileGrainStorage(string name, string root, Serializer serializer) : IGrainStorage
{
    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var path = PathOf(stateName, grainId);
        if (!File.Exists(path))
        {
            grainState.ETag = null;
            grainState.RecordExists = false;
            return;
        }

        var bytes = await File.ReadAllBytesAsync(path);
        grainState.State = serializer.Deserialize<T>(bytes);
        grainState.ETag = ETagOf(bytes);
        grainState.RecordExists = true;
    }

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var path = PathOf(stateName, grainId);
        await CheckETagAsync(path, grainState.ETag, stateName, grainId);
        var bytes = serializer.SerializeToArray(grainState.State);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = Path.Combine(Path.GetDirectoryName(path)!, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 4096, FileOptions.WriteThrough))
        {
            await file.WriteAsync(bytes);
        }

        File.Move(temp, path, overwrite: true);
        grainState.ETag = ETagOf(bytes);
        grainState.RecordExists = true;
    }

    public async Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var path = PathOf(stateName, grainId);
        await CheckETagAsync(path, grainState.ETag, stateName, grainId);
        File.Delete(path);
        grainState.ETag = null;
        grainState.RecordExists = false;
    }

    private static async Task CheckETagAsync(string path, string? expected, string stateName, GrainId grainId)
    {
        var current = File.Exists(path) ? ETagOf(await File.ReadAllBytesAsync(path)) : null;
        if (current != expected)
        {
            throw new InconsistentStateException($"the {stateName} state of {grainId} changed on disk since it was read", current ?? "", expected ?? "");
        }
    }

    private static string ETagOf(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes))[..16];

    /// <summary>One folder per provider and grain type; the file name is a hash of the grain id, so any key is a safe file name.</summary>
    private string PathOf(string stateName, GrainId grainId)
    {
        var key = Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(grainId.ToString())))[..32];
        return Path.Combine(root, name, Safe(grainId.Type.ToString() ?? "grain"), $"{Safe(stateName)}-{key}.bin");
    }

    private static string Safe(string text) => string.Concat(text.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_'));
}
