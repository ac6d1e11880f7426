namespace Microscope.Farm.Grains;

/// <summary>The directory's list of jobs with work for a worker, asked again at most once a second (or when it ran dry).</summary>
internal sealed class ActiveJobs(IGrainFactory grains, TimeProvider time)
{
    private static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(1);
    private IReadOnlyList<string> jobs = [];
    private DateTimeOffset fetched = DateTimeOffset.MinValue;

    public async Task<IReadOnlyList<string>> ForAsync(WorkerInfo worker)
    {
        if (time.GetUtcNow() - fetched > MaxAge)
        {
            jobs = await grains.GetGrain<IJobDirectoryGrain>(0).ActiveJobsAsync(worker);
            fetched = time.GetUtcNow();
        }

        return jobs;
    }

    public void Invalidate() => fetched = DateTimeOffset.MinValue;
}
