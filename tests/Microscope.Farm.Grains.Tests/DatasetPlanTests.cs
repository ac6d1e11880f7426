namespace Microscope.Farm.Grains.Tests;

/// <summary>Dataset examples of several layers: one pass over the images for all of them, merges per layer and unit group.</summary>
public class DatasetPlanTests
{
    [Fact]
    public void Every_layer_shares_one_scan_per_shard_and_merges_wait_for_it()
    {
        var spec = new JobSpec { Model = "tiny", Lenses = ["featurevis", "dataset-examples"], DatasetShards = 2, Units = [0, 1, 5] };
        var items = JobPlanner.Plan("j", spec, Samples.Model());

        var shards = items.Where(i => i.Kind == WorkKind.DatasetShard).ToList();
        Assert.Equal([0, 1], shards.Select(s => s.Shard));
        Assert.All(shards, s => Assert.Equal(["conv1", "conv2", "logits"], s.ScannedLayers));
        var merges = items.Where(i => i.Kind == WorkKind.DatasetMerge).ToList();
        Assert.Equal(["conv1 0,1", "conv2 0,1,5", "logits 0,1"], merges.Select(m => $"{m.Layer} {string.Join(",", m.Units)}"));
        Assert.All(merges, m => Assert.Equal(shards.Select(s => s.Index), m.DependsOn));
        Assert.All(merges, m => Assert.True(m.DependsOn.All(d => d < m.Index)));
        Assert.Contains("and 2 more layers", shards[0].Describe());
    }

    [Fact]
    public void A_layer_without_the_units_asked_is_not_scanned_and_one_layer_needs_no_list()
    {
        var items = JobPlanner.Plan("j", new JobSpec { Model = "tiny", Lenses = ["dataset-examples"], DatasetShards = 1, Units = [5] }, Samples.Model());

        var shard = Assert.Single(items, i => i.Kind == WorkKind.DatasetShard);
        Assert.Null(shard.ScanLayers);
        Assert.Equal(["conv2"], shard.ScannedLayers);
    }

    [Fact]
    public void A_wide_layer_merges_in_groups_of_units()
    {
        var model = Samples.Model() with { Layers = [new LayerInfo("wide", "Conv", [JobPlanner.MergeUnits * 2 + 3, 4, 4], 0)] };
        var items = JobPlanner.Plan("j", new JobSpec { Model = "tiny", Lenses = ["dataset-examples"], DatasetShards = 3 }, model);

        var merges = items.Where(i => i.Kind == WorkKind.DatasetMerge).ToList();
        Assert.Equal([JobPlanner.MergeUnits, JobPlanner.MergeUnits, 3], merges.Select(m => m.Units.Count));
        Assert.Equal(Enumerable.Range(0, JobPlanner.MergeUnits * 2 + 3), merges.SelectMany(m => m.Units));
    }
}
