namespace Microscope.Farm.Grains.Tests;

/// <summary>A dataset job is refused at submission when no live render silo has its dataset, naming the setting.</summary>
[Collection(FarmClusterCollection.Name)]
public sealed class DatasetSubmissionTests(FarmClusterFixture farm)
{
    private IJobDirectoryGrain Directory => farm.Client.GetGrain<IJobDirectoryGrain>(0);

    [Fact]
    public async Task A_dataset_no_render_silo_has_is_not_found_and_one_they_report_is_rendered()
    {
        await FarmClusterFixture.EventuallyAsync(
            async () => (await farm.Client.GetGrain<IWorkerRegistryGrain>(0).ListAsync()).Any(w => w.Alive && w.Info.Datasets?.Contains("scripted") == true),
            "a render worker reporting its datasets");
        JobSpec Spec(string dataset) => new()
        {
            Model = "tiny", Layers = ["conv1"], Lenses = ["dataset-examples"], DatasetShards = 1, Options = new LensOptions { Dataset = dataset },
            ClientToken = "dataset-" + Guid.NewGuid().ToString("N"),
        };

        var refused = await Assert.ThrowsAsync<FarmNotFoundException>(() => Directory.SubmitAsync(Spec("elsewhere")));
        Assert.Contains("no render silo has the dataset 'elsewhere'", refused.Message);
        Assert.Contains("Farm:Engine:Datasets:elsewhere", refused.Message);
        Assert.Contains("known: scripted", refused.Message);
        Assert.DoesNotContain(await Directory.ListAsync(0, 1000), j => j.Spec.Options.Dataset == "elsewhere");

        var job = await Directory.SubmitAsync(Spec("scripted"));
        Assert.Equal(JobState.Completed, (await farm.WaitAsync(job.Id, s => s.IsFinished)).State);

        // Jobs without dataset lenses never ask.
        Assert.NotNull(await Directory.SubmitAsync(new JobSpec { Model = "tiny", Layers = ["conv1"], Lenses = ["deepdream"], Options = new LensOptions { Dataset = "elsewhere" } }));
    }
}
