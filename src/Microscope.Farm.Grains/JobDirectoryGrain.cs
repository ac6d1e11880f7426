using System.Globalization;
using Microsoft.Extensions.Logging;

namespace Microscope.Farm.Grains;

/// <summary>A job as the directory knows it: enough to order jobs for workers without asking them.</summary>
[GenerateSerializer]
public sealed class DirectoryEntry
{
    [Id(0)] public string Job { get; set; } = "";

    [Id(1)] public int Priority { get; set; }

    [Id(2)] public JobState State { get; set; }

    /// <summary>Submission order, for first-come first-served among equal priorities.</summary>
    [Id(3)] public long Sequence { get; set; }

    [Id(4)] public List<string> RequiredTags { get; set; } = [];

    /// <summary>Who submitted it (the API key's name), for quotas.</summary>
    [Id(5)] public string Owner { get; set; } = "";

    [Id(6)] public int Items { get; set; }

    [Id(7)] public DateTimeOffset SubmittedAt { get; set; }
}

[GenerateSerializer]
public sealed class DirectoryState
{
    [Id(0)] public Dictionary<string, DirectoryEntry> Jobs { get; set; } = [];

    /// <summary>Owner and client token → job, so a retried submission finds the first job.</summary>
    [Id(1)] public Dictionary<string, string> Tokens { get; set; } = [];

    [Id(2)] public long NextSequence { get; set; }
}

/// <summary>
/// Submits jobs (idempotent on the client token), lists them, and orders the active ones for
/// workers: higher priority first, then submission order. It never hands out work itself: workers
/// lease from the job grains, so the directory is touched once per poll, not once per item.
/// </summary>
internal sealed class JobDirectoryGrain(
    [PersistentState("directory", FarmStorageNames.Jobs)] IPersistentState<DirectoryState> state,
    TimeProvider time,
    ILogger<JobDirectoryGrain> logger) : Grain, IJobDirectoryGrain
{
    public const int ListLimit = 500;

    public Task<JobStatus> SubmitAsync(JobSpec spec) => SubmitWithinQuotaAsync(spec, JobQuota.Unlimited);

    public async Task<JobStatus> SubmitIntakeAsync(string model, string version, string owner)
    {
        FarmIds.Check(model, "model");
        var sequence = state.State.NextSequence++;
        var id = string.Create(CultureInfo.InvariantCulture, $"{model}-intake-{sequence:D6}-{Random.Shared.Next(0x10000):x4}");

        // Before any render (a user waits on it, and it is one short item), and outside the owner's quotas (it renders nothing).
        var spec = new JobSpec { Model = model, Priority = int.MaxValue, Owner = owner, Intake = true };
        var status = await Job(id).CreateAsync(spec, version, JobPlanner.Intake(id, model, version));
        state.State.Jobs[id] = new DirectoryEntry
        {
            Job = id, Priority = spec.Priority, State = status.State, Sequence = sequence, SubmittedAt = time.GetUtcNow(),
        };
        await state.WriteStateAsync();
        logger.LogInformation("Submitted the intake of model {Model} version {Version} as job {Job}", model, version, id);
        return status;
    }

    public async Task<JobStatus> SubmitWithinQuotaAsync(JobSpec spec, JobQuota quota)
    {
        var token = spec.ClientToken is { Length: > 0 } t ? $"{spec.Owner}\n{t}" : null;
        if (token is not null && state.State.Tokens.TryGetValue(token, out var existing))
        {
            return await Job(existing).GetStatusAsync();
        }

        var model = await GrainFactory.GetGrain<IModelGrain>(FarmIds.Model(spec.Model)).GetAsync()
            ?? throw new FarmNotFoundException($"there is no model '{spec.Model}'; register it first (POST /api/models or a built-in organism).");
        var sequence = state.State.NextSequence;
        var id = string.Create(CultureInfo.InvariantCulture, $"{model.Id}-{sequence:D6}-{Random.Shared.Next(0x10000):x4}");
        spec = JobPlanner.Normalize(spec, model);
        var items = JobPlanner.Plan(id, spec, model);
        // The job's own size first (400, no cluster lookup), then whether a silo has its dataset (404).
        CheckCeilings(items, quota);
        await CheckDatasetAsync(items);
        CheckQuota(spec.Owner, items.Count, quota);
        state.State.NextSequence++;
        var status = await Job(id).CreateAsync(spec, model.Version, items);
        state.State.Jobs[id] = new DirectoryEntry
        {
            Job = id, Priority = spec.Priority, State = status.State, Sequence = sequence, RequiredTags = [.. spec.RequiredTags],
            Owner = spec.Owner, Items = items.Count, SubmittedAt = time.GetUtcNow(),
        };
        if (token is not null)
        {
            state.State.Tokens[token] = id;
        }

        await state.WriteStateAsync();
        logger.LogInformation("Submitted job {Job}: {Items} items, priority {Priority}", id, items.Count, spec.Priority);
        return status;
    }

    /// <summary>
    /// A job that scans a dataset no live render silo has is refused (404) naming the setting to
    /// configure, rather than accepted to fail every item later.
    /// </summary>
    private async Task CheckDatasetAsync(List<WorkItem> items)
    {
        if (items.FirstOrDefault(i => i.Kind == WorkKind.DatasetShard) is not { } shard)
        {
            return;
        }

        var name = shard.Options.Dataset;
        var workers = await GrainFactory.GetGrain<IWorkerRegistryGrain>(0).ListAsync();
        var known = workers.Where(w => w.Alive).SelectMany(w => w.Info.Datasets ?? []).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        if (!known.Contains(name))
        {
            throw new FarmNotFoundException(
                $"no render silo has the dataset '{name}': configure Farm:Engine:Datasets:{name} with a folder of images on the render silos and restart them, or name a dataset they have in options.dataset (known: {string.Join(", ", known.DefaultIfEmpty("none"))}).");
        }
    }

    /// <summary>One job's size: refused as a bad request (400) naming the setting, since waiting would not help.</summary>
    private static void CheckCeilings(List<WorkItem> items, JobQuota quota)
    {
        if (quota.ItemsPerJob > 0 && items.Count > quota.ItemsPerJob)
        {
            throw new FarmInputException($"this job has {items.Count} work items, more than one job may have (Farm:Api:Quotas:ItemsPerJob = {quota.ItemsPerJob}); ask for fewer layers, units or lenses, or more units per item.");
        }

        var cost = JobPlanner.Cost(items);
        if (quota.CostPerJob > 0 && cost > quota.CostPerJob)
        {
            throw new FarmInputException(string.Create(CultureInfo.InvariantCulture,
                $"this job would cost {cost:0.###e0} unit-steps at 128 px, more than one job may (Farm:Api:Quotas:CostPerJob = {quota.CostPerJob:0.###e0}); ask for fewer units or lenses, fewer steps or a smaller size."));
        }
    }

    private void CheckQuota(string owner, int items, JobQuota quota)
    {
        var mine = state.State.Jobs.Values.Where(e => e.Owner == owner).ToList();
        var unfinished = mine.Count(e => e.State is JobState.Queued or JobState.Running or JobState.Paused);
        if (quota.ConcurrentJobs > 0 && unfinished >= quota.ConcurrentJobs)
        {
            throw new FarmQuotaException($"'{owner}' has {unfinished} unfinished jobs, the most its quota allows ({quota.ConcurrentJobs}); wait for one to finish or cancel one.");
        }

        var since = time.GetUtcNow().AddDays(-1);
        var today = mine.Where(e => e.SubmittedAt > since).Sum(e => (long)e.Items);
        if (quota.ItemsPerDay > 0 && today + items > quota.ItemsPerDay)
        {
            throw new FarmQuotaException($"'{owner}' submitted {today} work items in the last 24 hours; this job's {items} would pass its quota of {quota.ItemsPerDay} a day. Submit fewer units or lenses, or wait.");
        }
    }

    public async Task<IReadOnlyList<JobStatus>> ListAsync(int offset, int limit)
    {
        var newest = state.State.Jobs.Values.OrderByDescending(e => e.Sequence).Skip(Math.Max(0, offset)).Take(Math.Clamp(limit, 0, ListLimit));
        return await Task.WhenAll(newest.Select(e => Job(e.Job).GetStatusAsync()));
    }

    public Task<IReadOnlyList<string>> ActiveJobsAsync(WorkerInfo worker)
    {
        IReadOnlyList<string> active = [.. state.State.Jobs.Values
            .Where(e => e.State is JobState.Queued or JobState.Running && worker.Serves(e.RequiredTags))
            .OrderByDescending(e => e.Priority)
            .ThenBy(e => e.Sequence)
            .Select(e => e.Job)];
        return Task.FromResult(active);
    }

    public async Task JobChangedAsync(string job, JobState jobState, int priority, int waiting)
    {
        if (state.State.Jobs.TryGetValue(job, out var entry) && (entry.State != jobState || entry.Priority != priority))
        {
            entry.State = jobState;
            entry.Priority = priority;
            await state.WriteStateAsync();
        }
    }

    private IJobGrain Job(string id) => GrainFactory.GetGrain<IJobGrain>(id);
}
