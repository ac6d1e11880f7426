namespace Microscope.Farm.Rendering.Tests;

/// <summary>The lens registry: every lens described once, rendered by exactly one renderer, its options reset to what it reads.</summary>
public sealed class LensRegistryTests
{
    [Fact]
    public void Every_lens_of_the_registry_has_exactly_one_renderer_and_every_renderer_a_lens()
    {
        Assert.Equal(FarmLenses.All.Select(l => l.Name).Order(), LensRenderers.All.Select(r => r.Lens.Name).Order());
        Assert.All(LensRenderers.All, r => Assert.Same(FarmLenses.Get(r.Lens.Name), r.Lens));
        Assert.Equal(FarmLenses.All.Count, FarmLenses.All.Select(l => l.Name).Distinct().Count());
    }

    [Fact]
    public void Every_lens_is_described_for_people_and_names_its_files()
    {
        Assert.All(FarmLenses.All, l =>
        {
            Assert.Matches("^[a-z][a-z-]*$", l.Name);
            Assert.False(string.IsNullOrWhiteSpace(l.Title));
            Assert.EndsWith(".", l.Description);
            Assert.Contains("png", l.Files);
            Assert.Equal(l.Reads == LensOptionFields.None, l.Options.Count == 0);
        });
    }

    [Theory]
    [InlineData("dataset-examples", WorkKind.Render)]
    [InlineData("featurevis", WorkKind.DatasetMerge)]
    [InlineData("xray", WorkKind.Render)]
    public void An_item_its_lens_cannot_render_is_refused(string lens, WorkKind kind)
    {
        var error = Assert.Throws<RenderInputException>(() => LensRenderers.For(lens, kind));
        Assert.Contains($"'{lens}' as a {kind} item", error.Message);
    }

    [Fact]
    public void The_feature_objectives_come_from_the_registry()
    {
        Assert.True(LensRenderers.FeatureObjectiveOf(FarmLenses.Diversity)!.Diversity);
        Assert.False(LensRenderers.FeatureObjectiveOf(FarmLenses.Neuron)!.Diversity);
        Assert.Null(LensRenderers.FeatureObjectiveOf(FarmLenses.Tuning));
    }

    /// <summary>
    /// Each option changed alone changes a lens's options hash (part of its stored name) exactly when
    /// the lens reads it: a stored lens's name follows its picture, never an option it ignores.
    /// </summary>
    [Fact]
    public void A_lens_hash_changes_with_the_options_it_reads_and_no_other()
    {
        var changed = new (LensOptionFields Field, LensOptions Options)[]
        {
            (LensOptionFields.Steps, new LensOptions { Steps = 64 }),
            (LensOptionFields.Size, new LensOptions { Size = 96 }),
            (LensOptionFields.Seed, new LensOptions { Seed = 9 }),
            (LensOptionFields.Fourier, new LensOptions { Fourier = false }),
            (LensOptionFields.Transforms, new LensOptions { Transforms = false }),
            (LensOptionFields.DiversityImages, new LensOptions { DiversityImages = 6 }),
            (LensOptionFields.Top, new LensOptions { Top = 4 }),
            (LensOptionFields.Dataset, new LensOptions { Dataset = "imagenet-val" }),
            (LensOptionFields.Family, new LensOptions { Family = "hue" }),
            (LensOptionFields.ReluRedirect, new LensOptions { ReluRedirect = false }),
        };
        Assert.Equal(LensOptions.Fields.Count, changed.Length);
        foreach (var lens in FarmLenses.All)
        {
            var baseline = LensOptions.Default.For(lens).Hash();
            foreach (var (field, options) in changed)
            {
                Assert.True(lens.Reads.HasFlag(field) == (options.For(lens).Hash() != baseline), $"{lens.Name} and {field}");
            }
        }

        Assert.Equal(["steps", "seed"], FarmLenses.DeepDream.Options);
        Assert.Equal(["steps", "size", "seed", "fourier", "transforms", "reluRedirect"], FarmLenses.FeatureVis.Options);
        Assert.Equal(["top", "dataset"], FarmLenses.DatasetExamples.Options);
    }

    [Fact]
    public void An_unknown_lens_is_named_with_the_lenses_there_are()
    {
        var error = Assert.Throws<FarmNotFoundException>(() => LensOptions.Default.For("xray"));
        Assert.Contains("'xray'", error.Message);
        Assert.Contains("featurevis, neuron", error.Message);
    }
}
