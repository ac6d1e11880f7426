using System.Text;

namespace Microscope.Farm.Storage.Tests;

/// <summary>What every lens store does; run against the filesystem store and the blob store on Azurite.</summary>
public abstract class LensStoreContract
{
    protected abstract ILensStore Store { get; }

    private static string PathOf(int unit, string hash = "0123456789ab", string ext = "png") =>
        LensPaths.UnitLens("tiny", "00000000deadbeef", "conv1", unit, "featurevis", hash, ext);

    [Fact]
    public async Task Put_and_get_round_trip_with_content_type()
    {
        var path = PathOf(1, ext: "json");
        Assert.True(await Store.PutIfAbsentAsync(path, Encoding.UTF8.GetBytes("{\"a\":1}"), ContentTypes.Json));
        var blob = await Store.GetAsync(path);

        Assert.NotNull(blob);
        Assert.Equal("{\"a\":1}", Encoding.UTF8.GetString(blob.Content.Span));
        Assert.Equal(ContentTypes.Json, blob.ContentType);
        Assert.Equal(7, blob.Length);
        Assert.StartsWith("\"", blob.ETag);
        Assert.True(await Store.ExistsAsync(path));
    }

    [Fact]
    public async Task Create_once_writes_keep_the_first_content()
    {
        var path = PathOf(2);
        Assert.True(await Store.PutIfAbsentAsync(path, new byte[] { 1, 2, 3 }, ContentTypes.Png));
        Assert.False(await Store.PutIfAbsentAsync(path, new byte[] { 9, 9 }, ContentTypes.Png));
        Assert.Equal(new byte[] { 1, 2, 3 }, (await Store.GetAsync(path))!.Content.ToArray());
    }

    [Fact]
    public async Task Of_concurrent_create_once_writers_exactly_one_wins()
    {
        var path = PathOf(3);
        var payloads = Enumerable.Range(0, 16).Select(i => Enumerable.Repeat((byte)i, 64 * 1024).ToArray()).ToArray();
        var wins = await Task.WhenAll(payloads.Select(p => Task.Run(() => Store.PutIfAbsentAsync(path, p, ContentTypes.Png))));

        Assert.Equal(1, wins.Count(w => w));
        var stored = (await Store.GetAsync(path))!.Content.ToArray();
        Assert.Equal(payloads[Array.IndexOf(wins, true)], stored);
    }

    [Fact]
    public async Task Readers_never_see_part_of_an_overwrite()
    {
        var path = LensPaths.LayerIndex("tiny", "00000000deadbeef", "conv1");
        var a = Enumerable.Repeat((byte)'a', 4 << 20).ToArray();
        var b = Enumerable.Repeat((byte)'b', 4 << 20).ToArray();
        await Store.PutAsync(path, a, ContentTypes.Json);

        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        var writer = Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                await Store.PutAsync(path, i % 2 == 0 ? b : a, ContentTypes.Json);
            }
        });
        var reads = 0;
        while (!stop.IsCancellationRequested)
        {
            var seen = (await Store.GetAsync(path))!.Content;
            Assert.True(seen.Span.SequenceEqual(a) || seen.Span.SequenceEqual(b), $"a read saw {seen.Length} bytes of mixed content");
            reads++;
        }

        await writer;
        Assert.True(reads > 3);
    }

    [Fact]
    public async Task ETags_follow_the_content()
    {
        var (p1, p2, p3) = (PathOf(4), PathOf(5), PathOf(6));
        await Store.PutIfAbsentAsync(p1, new byte[] { 1 }, ContentTypes.Png);
        await Store.PutIfAbsentAsync(p2, new byte[] { 2 }, ContentTypes.Png);
        await Store.PutIfAbsentAsync(p3, new byte[] { 1 }, ContentTypes.Png);

        var (e1, e2) = ((await Store.GetAsync(p1))!.ETag, (await Store.GetAsync(p2))!.ETag);
        Assert.Equal(e1, (await Store.GetAsync(p1))!.ETag);
        Assert.NotEqual(e1, e2);
        await using var opened = await Store.OpenReadAsync(p1);
        Assert.Equal(e1, opened!.ETag);
    }

    [Fact]
    public async Task An_overwrite_changes_the_ETag()
    {
        var path = LensPaths.LayerIndex("tiny", "00000000deadbeef", "etag");
        await Store.PutAsync(path, "{\"units\":1}"u8.ToArray(), ContentTypes.Json);
        var before = (await Store.GetAsync(path))!.ETag;
        await Store.PutAsync(path, "{\"units\":2}"u8.ToArray(), ContentTypes.Json);
        var after = await Store.GetAsync(path);

        Assert.NotEqual(before, after!.ETag);
        Assert.Equal("{\"units\":2}", Encoding.UTF8.GetString(after.Content.Span));
        await using var opened = await Store.OpenReadAsync(path);
        Assert.Equal(after.ETag, opened!.ETag);
    }

    [Fact]
    public async Task Ranges_are_read()
    {
        var path = PathOf(7);
        await Store.PutIfAbsentAsync(path, Enumerable.Range(0, 100).Select(i => (byte)i).ToArray(), ContentTypes.Png);
        await using var range = await Store.OpenReadAsync(path, 10, 5);

        Assert.NotNull(range);
        var buffer = new MemoryStream();
        await range.Content.CopyToAsync(buffer);
        Assert.Equal(new byte[] { 10, 11, 12, 13, 14 }, buffer.ToArray());
        Assert.Equal(100, range.TotalLength);
        Assert.Equal(10, range.Offset);
        Assert.Null(await Store.OpenReadAsync(PathOf(99)));
    }

    /// <summary>An HTTP API answers such ranges with 416 and "bytes */total", so the total must come back.</summary>
    [Theory]
    [InlineData(95L, 10L, 95L, 5L)]
    [InlineData(100L, null, 100L, 0L)]
    [InlineData(150L, 10L, 100L, 0L)]
    [InlineData(20L, 0L, 20L, 0L)]
    public async Task Ranges_at_or_past_the_end_are_cut_and_say_the_total(long offset, long? length, long expectedOffset, long expectedLength)
    {
        var path = PathOf(9);
        await Store.PutIfAbsentAsync(path, Enumerable.Range(0, 100).Select(i => (byte)i).ToArray(), ContentTypes.Png);
        await using var range = await Store.OpenReadAsync(path, offset, length);

        Assert.NotNull(range);
        var buffer = new MemoryStream();
        await range.Content.CopyToAsync(buffer);
        Assert.Equal((expectedOffset, expectedLength, expectedLength, 100L), (range.Offset, range.Length, (long)buffer.Length, range.TotalLength));
        Assert.Equal(ContentTypes.Png, range.ContentType);
    }

    [Fact]
    public async Task Listing_is_complete_ordered_and_by_prefix()
    {
        var prefix = "models/list/00000000deadbeef/";
        var paths = Enumerable.Range(0, 12).Select(u => LensPaths.UnitLens("list", "00000000deadbeef", "conv1", u, "featurevis", "0123456789ab", "png")).ToList();
        foreach (var path in paths)
        {
            await Store.PutIfAbsentAsync(path, new byte[] { 1 }, ContentTypes.Png);
        }

        await Store.PutIfAbsentAsync(LensPaths.Model("other", "00000000deadbeef", "model.onnx"), new byte[] { 1 }, ContentTypes.Onnx);
        var listed = new List<string>();
        await foreach (var path in Store.ListAsync(prefix))
        {
            listed.Add(path);
        }

        Assert.Equal(paths.Order(StringComparer.Ordinal), listed);
    }

    [Fact]
    public async Task Missing_blobs_and_deletes()
    {
        var path = PathOf(8);
        Assert.Null(await Store.GetAsync(path));
        Assert.False(await Store.ExistsAsync(path));
        Assert.False(await Store.DeleteAsync(path));
        await Store.PutIfAbsentAsync(path, new byte[] { 1 }, ContentTypes.Png);
        Assert.True(await Store.DeleteAsync(path));
        Assert.False(await Store.ExistsAsync(path));
    }

    [Fact]
    public async Task An_oversized_upload_stores_nothing()
    {
        var path = LensPaths.Model("big", "00000000deadbeef", "model.onnx");
        var source = new MemoryStream(new byte[3 << 20]);
        await Assert.ThrowsAsync<LensStoreQuotaException>(() => Store.PutStreamAsync(path, source, ContentTypes.Onnx, maxBytes: 1 << 20));

        Assert.False(await Store.ExistsAsync(path));
        var left = new List<string>();
        await foreach (var p in Store.ListAsync("models/big/"))
        {
            left.Add(p);
        }

        Assert.Empty(left);
        await Store.PutStreamAsync(path, new MemoryStream(new byte[1000]), ContentTypes.Onnx, maxBytes: 1 << 20);
        Assert.Equal(1000, (await Store.GetAsync(path))!.Length);
    }

    [Theory]
    [InlineData("../etc")]
    [InlineData("a/b")]
    [InlineData("%2e%2e")]
    [InlineData("")]
    [InlineData(".hidden")]
    [InlineData("a\\b")]
    [InlineData("..")]
    public void Paths_refuse_anything_but_plain_segments(string bad)
    {
        Assert.Throws<ArgumentException>(() => LensPaths.UnitLens("tiny", "00000000deadbeef", bad, 0, "featurevis", "0123456789ab", "png"));
        Assert.Throws<ArgumentException>(() => LensPaths.UnitLens(bad, "00000000deadbeef", "conv1", 0, "featurevis", "0123456789ab", "png"));
    }

    [Fact]
    public void Paths_have_the_documented_layout()
    {
        Assert.Equal("models/resnet18/0123456789abcdef/layers/layer3.1.relu/units/42/featurevis/0123456789ab.png",
            LensPaths.UnitLens("resnet18", "0123456789abcdef", "layer3.1.relu", 42, "featurevis", "0123456789ab", "png"));
        Assert.Equal("models/resnet18/0123456789abcdef/layers/conv1/deepdream/0123456789ab.json",
            LensPaths.LayerLens("resnet18", "0123456789abcdef", "conv1", "deepdream", "0123456789ab", "json"));
        Assert.Equal("models/resnet18/0123456789abcdef/layers/conv1/dataset-examples/0123456789ab/shards/2-of-4.json",
            LensPaths.DatasetShard("resnet18", "0123456789abcdef", "conv1", "0123456789ab", 2, 4));
        Assert.Throws<ArgumentException>(() => LensPaths.UnitLens("resnet18", "0123456789abcdef", "conv1", 0, "featurevis", "NOTHEX", "png"));
    }
}
