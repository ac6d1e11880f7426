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

    /// <summary>The weights lens exists on layers affine in the image only: over every layer it is planned there, asked for another layer it is refused.</summary>
    [Fact]
    public void The_weights_lens_is_planned_only_where_the_layer_is_affine_in_the_image()
    {
        var tiny = Samples.Model();
        var model = tiny with { Layers = [tiny.Layers[0] with { AffineInImage = true }, .. tiny.Layers.Skip(1)] };

        var items = JobPlanner.Plan("j", new JobSpec { Model = "tiny", Lenses = ["weights", "featurevis"] }, model);

        Assert.Equal(["conv1 weights", "conv1 featurevis", "conv2 featurevis", "logits featurevis"], items.Select(i => $"{i.Layer} {i.Lens}"));
        var refused = Assert.Throws<FarmInputException>(() => JobPlanner.Plan("j", new JobSpec { Model = "tiny", Layers = ["conv2"], Lenses = ["weights"] }, model));
        Assert.Contains("layer 'conv2' has no weights lens", refused.Message);
        Assert.Contains("conv1", refused.Message);
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

    /// <summary>Nulls where a body may leave a field out were null references (500) in the planner; now each is a 400 naming the field.</summary>
    [Theory]
    [InlineData("lenses")]
    [InlineData("lenses-item")]
    [InlineData("layers")]
    [InlineData("layers-item")]
    [InlineData("options")]
    [InlineData("requiredTags")]
    [InlineData("requiredTags-item")]
    public void Nulls_in_a_job_body_are_refused_naming_the_field(string field)
    {
        var spec = new JobSpec { Model = "tiny" };
        spec = field switch
        {
            "lenses" => spec with { Lenses = null! },
            "lenses-item" => spec with { Lenses = [null!] },
            "layers" => spec with { Layers = null! },
            "layers-item" => spec with { Layers = ["conv1", null!] },
            "options" => spec with { Options = null! },
            "requiredTags" => spec with { RequiredTags = null! },
            _ => spec with { RequiredTags = [null!] },
        };
        var error = Assert.Throws<FarmInputException>(() => JobPlanner.Normalize(spec, Samples.Model()));
        Assert.Contains(field.Split('-')[0], error.Message);
        Assert.Throws<FarmInputException>(() => JobPlanner.Plan("j", spec, Samples.Model()));
    }

    [Fact]
    public void Huge_lists_are_refused_and_the_stored_spec_is_deduplicated_and_checked_against_the_layers()
    {
        var model = Samples.Model();
        var million = Assert.Throws<FarmInputException>(() => JobPlanner.Normalize(new JobSpec { Model = "tiny", Units = [.. Enumerable.Range(0, 1_000_000)] }, model));
        Assert.Contains($"at most {JobPlanner.MaxListLength}", million.Message);
        Assert.Throws<FarmInputException>(() => JobPlanner.Normalize(new JobSpec { Model = "tiny", Layers = [.. Enumerable.Repeat("conv1", 100_000)] }, model));

        // A unit no asked layer has is refused (it was dropped silently, so [0 … 999999] was stored whole).
        var beyond = Assert.Throws<FarmInputException>(() => JobPlanner.Normalize(new JobSpec { Model = "tiny", Layers = ["conv1"], Units = [0, 4] }, model));
        Assert.Contains("unit 4", beyond.Message);
        Assert.Contains("4 units (0 to 3)", beyond.Message);
        Assert.Contains("unit -1", Assert.Throws<FarmInputException>(() => JobPlanner.Normalize(new JobSpec { Model = "tiny", Units = [-1, 2] }, model)).Message);

        var normal = JobPlanner.Normalize(new JobSpec { Model = "tiny", Layers = ["conv2", "conv1", "conv2"], Units = [5, 1, 1, 5, 0] }, model);
        Assert.Equal(["conv2", "conv1"], normal.Layers);
        Assert.Equal([0, 1, 5], normal.Units);

        // Every unit of every asked layer is stored as null ("all"), not as the list.
        Assert.Null(JobPlanner.Normalize(new JobSpec { Model = "tiny", Layers = ["conv1"], Units = [3, 2, 1, 0, 0] }, model).Units);
        Assert.Equal(JobPlanner.Plan("j", new JobSpec { Model = "tiny", Layers = ["conv1"] }, model).Select(i => i.Units.ToArray()),
            JobPlanner.Plan("j", JobPlanner.Normalize(new JobSpec { Model = "tiny", Layers = ["conv1"], Units = [3, 2, 1, 0] }, model), model).Select(i => i.Units.ToArray()));
    }

    [Fact]
    public void Units_read_as_compact_ranges()
    {
        Assert.Equal("all", UnitRanges.Format(null));
        Assert.Equal("", UnitRanges.Format([]));
        Assert.Equal("0-3,7,9-10", UnitRanges.Format([10, 9, 7, 3, 2, 1, 0, 2]));
        var sparse = UnitRanges.Format([.. Enumerable.Range(0, 10_000).Select(i => i * 2)]);
        Assert.True(sparse.Length < UnitRanges.MaxLength + 30, sparse);
        Assert.EndsWith("(10000 units)", sparse);
    }

    [Fact]
    public void Cost_counts_units_steps_and_area()
    {
        var spec = new JobSpec { Model = "tiny", Layers = ["conv1"], Options = new LensOptions { Steps = 100, Size = 256 }, UnitsPerItem = 1 };
        Assert.Equal(4 * 100 * 4.0, JobPlanner.Cost(JobPlanner.Plan("j", spec, Samples.Model())));
    }
}
