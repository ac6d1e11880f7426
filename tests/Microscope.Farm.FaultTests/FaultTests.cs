using SkiaSharp;

namespace Microscope.Farm.FaultTests;

/// <summary>
/// The farm under faults, with real processes: a render silo killed with -9, the storage service
/// away for ten seconds, and the whole cluster stopped and started again, each mid-job.
/// </summary>
[Trait("Category", "Fault")]
public class FaultTests
{
    private const int Items = 235;
    /// <summary>How long a job may make no progress at all before the test gives up (not a bound on the whole job).</summary>
    private static readonly TimeSpan JobTimeout = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task A_render_silo_killed_mid_job_loses_nothing()
    {
        await using var cluster = await FaultCluster.StartAsync();
        var job = await cluster.SubmitAsync();
        await cluster.WaitAsync(job, s => s.Counts.Done >= 40, JobTimeout);

        cluster.Silos["render-1"].Kill();
        var done = await cluster.WaitAsync(job, s => s.IsFinished, JobTimeout);

        Assert.True(done.State == JobState.Completed, $"{done.State}: {string.Join("; ", done.Failures.Select(f => f.Error))}\n{cluster.Logs()}");
        Assert.Equal(Items, done.Counts.Done);
        await AssertEveryLensStoredOnceAsync(cluster);
        var renders = cluster.RendersPerItem(job);

        // The killed silo may have stored an item's outputs and died before its journal line (the
        // journal is written once the outputs are): at most one such item per slot of that silo (two).
        // The next lease finds it stored; the blobs above show every lens is there, once.
        Assert.InRange(renders.Count, Items - 2, Items);
        Assert.All(renders, r => Assert.True(r.Value <= FaultCluster.MaxAttempts, $"item {r.Key} rendered {r.Value} times"));
    }

    [Fact]
    public async Task Storage_away_for_ten_seconds_pauses_the_work_and_it_completes()
    {
        await using var cluster = await FaultCluster.StartAsync();
        var job = await cluster.SubmitAsync();
        await cluster.WaitAsync(job, s => s.Counts.Done >= 40, JobTimeout);

        cluster.Azurite.Stop();
        await Task.Delay(TimeSpan.FromSeconds(10));
        await cluster.Azurite.RestartAsync();
        var done = await cluster.WaitAsync(job, s => s.IsFinished, JobTimeout);

        Assert.True(done.State == JobState.Completed, $"{done.State}: {string.Join("; ", done.Failures.Select(f => f.Error))}\n{cluster.Logs()}");
        await AssertEveryLensStoredOnceAsync(cluster);
    }

    [Fact]
    public async Task The_whole_cluster_restarted_mid_job_resumes_without_rendering_anything_twice()
    {
        await using var cluster = await FaultCluster.StartAsync();
        var job = await cluster.SubmitAsync();
        await cluster.WaitAsync(job, s => s.Counts.Done >= 40, JobTimeout);

        await Task.WhenAll(cluster.Silos.Values.Select(s => s.StopAsync(TimeSpan.FromSeconds(30))));
        var before = cluster.RendersPerItem(job);
        foreach (var name in cluster.Silos.Keys.ToList())
        {
            cluster.Start(name);
        }

        var done = await cluster.WaitAsync(job, s => s.IsFinished, JobTimeout);
        Assert.True(done.State == JobState.Completed, $"{done.State}: {string.Join("; ", done.Failures.Select(f => f.Error))}\n{cluster.Logs()}");
        await AssertEveryLensStoredOnceAsync(cluster);
        var after = cluster.RendersPerItem(job);
        Assert.True(before.Count >= 40, $"{before.Count} items were rendered before the restart");

        // An item whose outputs were stored just as a silo was stopped (killed after its grace period
        // on a loaded machine) has no journal line, and after the restart it is found stored, not
        // rendered: at most one such item per slot (six). The blobs above show every lens is there.
        Assert.InRange(after.Count, Items - 6, Items);
        Assert.All(after, r => Assert.True(r.Value == 1, $"item {r.Key} was rendered {r.Value} times"));
    }

    /// <summary>Every unit of every layer has exactly one stored image and one JSON per lens, and each image decodes.</summary>
    private static async Task AssertEveryLensStoredOnceAsync(FaultCluster cluster)
    {
        var blobs = new List<string>();
        await foreach (var blob in cluster.Lenses.GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, "models/small/", CancellationToken.None))
        {
            blobs.Add(blob.Name);
        }

        var lenses = blobs.Where(b => b.Contains("/units/", StringComparison.Ordinal)).ToList();
        var byLens = lenses.GroupBy(b => b[..b.LastIndexOf('/')]).ToList();
        Assert.Equal(Items, byLens.Count);
        Assert.All(byLens, g => Assert.Equal([".json", ".png"], g.Select(Path.GetExtension).Order()));
        foreach (var png in lenses.Where(b => b.EndsWith(".png", StringComparison.Ordinal)))
        {
            var content = (await cluster.Lenses.GetBlobClient(png).DownloadContentAsync()).Value.Content.ToArray();
            using var bitmap = SKBitmap.Decode(content);
            Assert.True(bitmap is { Width: > 0, Height: > 0 }, $"{png} does not decode as an image");
        }
    }
}
