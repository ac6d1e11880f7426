namespace Microscope.Farm.Storage.Tests;

public sealed class ImmutableBlobCacheTests : IDisposable
{
    private readonly string root = Path.Combine(Path.GetTempPath(), "microscope-cache-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly FileSystemLensStore store;

    public ImmutableBlobCacheTests() => store = new FileSystemLensStore(root);

    public void Dispose() => Directory.Delete(root, recursive: true);

    private async Task<string> PutAsync(string name, int length)
    {
        var path = $"models/m/v1/layers/l/units/0/featurevis/{name}.png";
        await store.PutIfAbsentAsync(path, Enumerable.Range(0, length).Select(i => (byte)(i + name.Length)).ToArray(), ContentTypes.Png);
        return path;
    }

    [Fact]
    public async Task A_blob_read_once_is_served_from_memory_with_its_content_type_and_etag()
    {
        var cache = new ImmutableBlobCache(store, 1 << 20);
        var path = await PutAsync("a", 1000);
        var first = await cache.GetAsync(path);
        await store.DeleteAsync(path);
        var second = await cache.GetAsync(path);

        Assert.NotNull(second);
        Assert.Same(first, second);
        Assert.Equal(ContentTypes.Png, second.ContentType);
        Assert.False(string.IsNullOrEmpty(second.ETag));
        Assert.Equal(1000, cache.Bytes);
        Assert.Null(await cache.GetAsync("models/m/v1/layers/l/units/0/featurevis/missing.png"));
    }

    [Fact]
    public async Task The_cache_stays_within_its_bytes_and_lets_the_oldest_go_first()
    {
        var cache = new ImmutableBlobCache(store, 2500);
        var paths = new List<string>();
        foreach (var name in new[] { "a", "b", "c", "d" })
        {
            paths.Add(await PutAsync(name, 1000));
            await cache.GetAsync(paths[^1]);
            Assert.True(cache.Bytes <= 2500, $"{cache.Bytes} bytes cached");
        }

        Assert.Equal(2, cache.Count);
        await store.DeleteAsync(paths[0]);
        await store.DeleteAsync(paths[3]);
        Assert.Null(await cache.GetAsync(paths[0]));
        Assert.NotNull(await cache.GetAsync(paths[3]));
    }

    [Fact]
    public async Task Blobs_over_the_size_limit_are_read_through_every_time()
    {
        var cache = new ImmutableBlobCache(store, 64L << 20);
        var path = await PutAsync("big", ImmutableBlobCache.LargestCached + 1);
        Assert.NotNull(await cache.GetAsync(path));
        Assert.Equal(0, cache.Count);
        await store.DeleteAsync(path);
        Assert.Null(await cache.GetAsync(path));
    }
}
