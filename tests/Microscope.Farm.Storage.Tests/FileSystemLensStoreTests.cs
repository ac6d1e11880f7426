namespace Microscope.Farm.Storage.Tests;

public sealed class FileSystemLensStoreTests : LensStoreContract, IDisposable
{
    private readonly string root = Path.Combine(Path.GetTempPath(), "microscope-store-" + Guid.NewGuid().ToString("N")[..8]);

    public FileSystemLensStoreTests()
    {
        Store = new FileSystemLensStore(root);
    }

    protected override ILensStore Store { get; }

    [Fact]
    public void Describe_names_the_folder() => Assert.Equal($"filesystem {root}", Store.Describe);

    [Fact]
    public async Task No_temporary_files_are_left_behind()
    {
        var path = LensPaths.Model("tmp", "00000000deadbeef", "model.onnx");
        await Assert.ThrowsAsync<LensStoreQuotaException>(() => Store.PutStreamAsync(path, new MemoryStream(new byte[5000]), ContentTypes.Onnx, 100));
        await Store.PutIfAbsentAsync(path, new byte[] { 1 }, ContentTypes.Onnx);
        await Store.PutIfAbsentAsync(path, new byte[] { 2 }, ContentTypes.Onnx);
        await Store.PutAsync(path, new byte[] { 3 }, ContentTypes.Onnx);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Store.PutAsync(path, new byte[] { 4 }, ContentTypes.Onnx, cancelled.Token));

        Assert.Equal(["model.onnx"], Directory.GetFiles(Path.GetDirectoryName(Path.Combine(root, path))!).Select(Path.GetFileName));
        Assert.Equal(new byte[] { 3 }, (await Store.GetAsync(path))!.Content.ToArray());
    }

    /// <summary>Large files are hashed by streaming and the tag cached; a new version must not keep the old tag.</summary>
    [Fact]
    public async Task Large_files_get_content_ETags_that_follow_a_replacement()
    {
        var path = LensPaths.Model("large", "00000000deadbeef", "model.onnx");
        await Store.PutStreamAsync(path, new MemoryStream(Enumerable.Repeat((byte)'a', 3 << 20).ToArray()), ContentTypes.Onnx, null);
        var first = await ETagsAsync(path);

        // The cache tells versions apart by length and write time; write times only move by a clock tick.
        await Task.Delay(50);
        await Store.PutStreamAsync(path, new MemoryStream(Enumerable.Repeat((byte)'b', 3 << 20).ToArray()), ContentTypes.Onnx, null);
        var second = await ETagsAsync(path);

        Assert.Equal(first.Get, first.Open);
        Assert.Equal(second.Get, second.Open);
        Assert.NotEqual(first.Get, second.Get);
        Assert.Equal(second.Open, (await ETagsAsync(path)).Open);
    }

    [Fact]
    public async Task Paths_that_leave_the_root_are_refused()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => Store.GetAsync("models/../../etc/passwd"));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.PutAsync("/etc/passwd", new byte[] { 1 }, ContentTypes.Json));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.ExistsAsync("models\\x"));
    }

    private async Task<(string Get, string Open)> ETagsAsync(string path)
    {
        await using var opened = await Store.OpenReadAsync(path, 0, 10);
        return ((await Store.GetAsync(path))!.ETag, opened!.ETag);
    }

    public void Dispose() => Directory.Delete(root, recursive: true);
}
