using System.Collections.Concurrent;
using Microscope.Farm.Storage;
using Microscope.Onnx;
using Microscope.Organisms;

namespace Microscope.Farm.Rendering.Tests;

/// <summary>The render silo's model cache: one download per version, never a half or corrupt one, the most recently used kept.</summary>
public sealed class ModelCacheTests(RenderFixture fixture) : IClassFixture<RenderFixture>
{
    private readonly RenderFixture fixture = fixture;

    [Fact]
    public async Task Concurrent_slots_share_one_download_and_one_loaded_model()
    {
        var counting = new CountingStore(fixture.Store);
        var cache = fixture.Cache(counting);

        var loads = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Task.Run(() => cache.GetAsync(fixture.Model.Id, fixture.Model.Version))));

        Assert.All(loads, l => Assert.Same(loads[0], l));
        Assert.Equal(1, counting.Reads(ModelPackages.ModelFile));
        Assert.Equal(fixture.Model.Layers.Select(l => l.Id), loads[0].Catalog.Layers.Select(l => l.Id));

        // The package lies in {cache}/{model}/{version}/, and no temporary folder is left.
        var modelFolder = Path.Combine(cache.Folder, fixture.Model.Id);
        Assert.Equal([Path.Combine(modelFolder, fixture.Model.Version)], Directory.GetDirectories(modelFolder));
        Assert.True(File.Exists(Path.Combine(modelFolder, fixture.Model.Version, ModelPackages.ModelFile)));
    }

    [Fact]
    public async Task Two_caches_on_one_folder_download_side_by_side_and_both_use_the_result()
    {
        // Two render silo processes on one machine sharing the cache folder.
        var folder = fixture.NewFolder("shared-cache");
        var caches = Enumerable.Range(0, 2).Select(_ => new ModelCache(fixture.Store, folder, new(), Microsoft.Extensions.Logging.Abstractions.NullLogger<ModelCache>.Instance)).ToList();

        var loads = await Task.WhenAll(caches.Select(c => Task.Run(() => c.GetAsync(fixture.Model.Id, fixture.Model.Version))));

        Assert.All(loads, l => Assert.Equal(fixture.Model.Layers.Count, l.Catalog.Layers.Count));
        Assert.Equal([fixture.Model.Version], Directory.GetDirectories(Path.Combine(folder, fixture.Model.Id)).Select(Path.GetFileName));
    }

    [Fact]
    public async Task The_least_recently_used_version_is_unloaded_beyond_capacity()
    {
        var versions = new List<string>();
        foreach (var title in new[] { "a", "b", "c" })
        {
            var manifest = OrganismRegistry.Default.Resolve(fixture.ModelPath) with { Id = "lru", Title = title };
            versions.Add((await ModelPackages.PublishAsync(fixture.Store, manifest)).Version);
        }

        var cache = fixture.Cache(capacity: 2);
        var a = await cache.GetAsync("lru", versions[0]);
        var b = await cache.GetAsync("lru", versions[1]);
        Assert.Same(a, await cache.GetAsync("lru", versions[0]));
        await cache.GetAsync("lru", versions[2]);

        Assert.Equal([("lru", versions[2]), ("lru", versions[0])], cache.Loaded);
        Assert.Same(a, await cache.GetAsync("lru", versions[0]));
        Assert.NotSame(b, await cache.GetAsync("lru", versions[1]));
    }

    [Fact]
    public async Task A_package_that_does_not_hash_to_its_version_is_refused_and_not_kept()
    {
        var store = new FileSystemLensStore(fixture.NewFolder("lenses"));
        var model = await ModelPackages.PublishFileAsync(store, fixture.ModelPath);
        var path = LensPaths.Model(model.Id, model.Version, ModelPackages.ModelFile);
        var bytes = (await store.GetAsync(path))!.Content.ToArray();
        bytes[^1] ^= 1;
        await store.PutAsync(path, bytes, ContentTypes.Onnx);
        var cache = fixture.Cache(store);

        var error = await Assert.ThrowsAsync<ModelFormatException>(() => cache.GetAsync(model.Id, model.Version));

        Assert.Contains("corrupt", error.Message);
        Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(cache.Folder, model.Id)));
    }

    [Fact]
    public async Task A_failed_load_is_tried_again_by_the_next_caller()
    {
        var store = new FileSystemLensStore(fixture.NewFolder("lenses"));
        var cache = fixture.Cache(store);
        await Assert.ThrowsAsync<FarmNotFoundException>(() => cache.GetAsync(fixture.Model.Id, fixture.Model.Version));

        // Published meanwhile (the same bytes, so the same version).
        await ModelPackages.PublishFileAsync(store, fixture.ModelPath);

        Assert.Equal(fixture.Model.Version, (await cache.GetAsync(fixture.Model.Id, fixture.Model.Version)).Version);
    }

    [Fact]
    public async Task Renders_on_several_slots_at_once_equal_renders_one_at_a_time()
    {
        // One engine, one cache, one loaded model and session factory shared by three slots.
        var items = new[] { ("featurevis", 0), ("neuron", 1), ("caricature", -1) }
            .Select(x => fixture.Item(x.Item1, x.Item2 < 0 ? [] : [x.Item2], seed: 11)).ToList();
        var parallel = await Task.WhenAll(items.Select(i => Task.Run(() => fixture.Engine().RenderAsync(i, null, CancellationToken.None))));

        // The same items alone, into another store.
        var store = new FileSystemLensStore(fixture.NewFolder("lenses"));
        await ModelPackages.PublishFileAsync(store, fixture.ModelPath);
        var engine = fixture.Engine(store: store);
        foreach (var (item, result) in items.Zip(parallel))
        {
            var alone = await engine.RenderAsync(item, null, CancellationToken.None);
            Assert.Equal(result.Lenses[0].Quality["objectiveAfter"], alone.Lenses[0].Quality["objectiveAfter"]);
            Assert.Equal((await fixture.Store.GetAsync(result.Lenses[0].ImagePath))!.Content.ToArray(), (await store.GetAsync(alone.Lenses[0].ImagePath))!.Content.ToArray());
        }
    }

    /// <summary>Counts whole-blob and streamed reads by file name.</summary>
    private sealed class CountingStore(ILensStore inner) : ILensStore
    {
        private readonly ConcurrentDictionary<string, int> reads = new();

        public string Describe => inner.Describe;

        public int Reads(string file) => reads.GetValueOrDefault(file);

        public Task<bool> PutIfAbsentAsync(string path, ReadOnlyMemory<byte> content, string contentType, CancellationToken cancellationToken = default) => inner.PutIfAbsentAsync(path, content, contentType, cancellationToken);

        public Task PutAsync(string path, ReadOnlyMemory<byte> content, string contentType, CancellationToken cancellationToken = default) => inner.PutAsync(path, content, contentType, cancellationToken);

        public Task PutStreamAsync(string path, Stream content, string contentType, long? maxBytes, CancellationToken cancellationToken = default) => inner.PutStreamAsync(path, content, contentType, maxBytes, cancellationToken);

        public Task<StoredBlob?> GetAsync(string path, CancellationToken cancellationToken = default)
        {
            Count(path);
            return inner.GetAsync(path, cancellationToken);
        }

        public Task<StoredStream?> OpenReadAsync(string path, long? offset = null, long? length = null, CancellationToken cancellationToken = default)
        {
            Count(path);
            return inner.OpenReadAsync(path, offset, length, cancellationToken);
        }

        public Task<bool> ExistsAsync(string path, CancellationToken cancellationToken = default) => inner.ExistsAsync(path, cancellationToken);

        public IAsyncEnumerable<string> ListAsync(string prefix, CancellationToken cancellationToken = default) => inner.ListAsync(prefix, cancellationToken);

        public Task<bool> DeleteAsync(string path, CancellationToken cancellationToken = default) => inner.DeleteAsync(path, cancellationToken);

        private void Count(string path) => reads.AddOrUpdate(Path.GetFileName(path), 1, (_, n) => n + 1);
    }
}
