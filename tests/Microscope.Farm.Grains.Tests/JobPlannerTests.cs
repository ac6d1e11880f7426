namespace Microscope.Farm.Grains.Tests;

public class JobPlannerTests
{
    [Fact]
    public void Every_layer_in_graph_order_with_units_in_batches()
    {
        var items = JobPlanner.Plan("j", new JobSpec { Model = "tiny", UnitsPerItem = 4 }, Samples.Model());

        Assert.Equal(["conv1", "conv2", "conv2", "logits"], items.Select(i => i.Layer));
        Assert.Equal([[0, 1, 2, 3], [0, 1, 2, 3], [4, 5], [0, 1, 2]], items.Select(i => i.Units.ToArray()));
        Assert.All(items, i => Assert.Equal("featurevis", i.Lens));
        Assert.Equal(Enumerable.Range(0, items.Count), items.Select(i => i.Index));
    }

    [Fact]
    public void Layers_lenses_and_units_as_asked()
    {
        var spec = new JobSpec { Model = "tiny", Layers = ["conv2", "conv1"], Lenses = ["negative", "deepdream"], Units = [1, 5, 99] };
        var items = JobPlanner.Plan("j", spec, Samples.Model());

        Assert.Equal(["conv2 negative 1,5", "conv2 deepdream ", "conv1 negative 1", "conv1 deepdream "],
            items.Select(i => $"{i.Layer} {i.Lens} {string.Join(",", i.Units)}"));
    }

    [Fact]
    public void Dataset_examples_are_shards_and_a_merge_that_waits_for_them()
    {
        var spec = new JobSpec { Model = "tiny", Layers = ["conv1"], Lenses = ["dataset-examples"], DatasetShards = 3 };
        var items = JobPlanner.Plan("j", spec, Samples.Model());

        Assert.Equal([WorkKind.DatasetShard, WorkKind.DatasetShard, WorkKind.DatasetShard, WorkKind.DatasetMerge], items.Select(i => i.Kind));
        Assert.Equal([0, 1, 2], items[^1].DependsOn);
        Assert.Equal([0, 1, 2, 3], items[^1].Units);
    }

    [Fact]
    public void Options_are_reduced_to_what_each_lens_uses()
    {
        var spec = new JobSpec { Model = "tiny", Layers = ["conv1"], Lenses = ["featurevis", "tuning"], Options = new LensOptions { Steps = 64, Family = "hue" } };
        var items = JobPlanner.Plan("j", spec, Samples.Model());

        Assert.Equal(64, items.First(i => i.Lens == "featurevis").Options.Steps);
        Assert.Equal(LensOptions.Default.Family, items.First(i => i.Lens == "featurevis").Options.Family);
        Assert.Equal("hue", items.First(i => i.Lens == "tuning").Options.Family);
        Assert.Equal(LensOptions.Default.Steps, items.First(i => i.Lens == "tuning").Options.Steps);
    }

    [Fact]
    public void Bad_requests_say_what_is_wrong()
    {
        var model = Samples.Model();
        Assert.Contains("no layer 'conv9'", Assert.Throws<FarmNotFoundException>(() => JobPlanner.Plan("j", new JobSpec { Model = "tiny", Layers = ["conv9"] }, model)).Message);
        Assert.Contains("no lens 'xray'", Assert.Throws<FarmNotFoundException>(() => JobPlanner.Plan("j", new JobSpec { Model = "tiny", Lenses = ["xray"] }, model)).Message);
        Assert.Contains("steps", Assert.Throws<FarmInputException>(() => JobPlanner.Plan("j", new JobSpec { Model = "tiny", Options = new LensOptions { Steps = 0 } }, model)).Message);
        Assert.Contains("any of the units", Assert.Throws<FarmInputException>(() => JobPlanner.Plan("j", new JobSpec { Model = "tiny", Units = [500] }, model)).Message);
        Assert.Contains("not a valid layer id", Assert.Throws<FarmInputException>(() => JobPlanner.Plan("j", new JobSpec { Model = "tiny", Layers = ["../etc"] }, model)).Message);
        Assert.Contains("not a valid tag id", Assert.Throws<FarmInputException>(() => JobPlanner.Plan("j", new JobSpec { Model = "tiny", RequiredTags = ["gpu,fp16"] }, model)).Message);

        var forwardOnly = model with { Lenses = ["dataset-examples", "tuning"], Notes = ["gradient lenses need a rule for op Gather"] };
        Assert.Contains("Gather", Assert.Throws<FarmInputException>(() => JobPlanner.Plan("j", new JobSpec { Model = "tiny" }, forwardOnly)).Message);
    }
}
