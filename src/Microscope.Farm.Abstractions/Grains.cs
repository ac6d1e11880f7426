using Orleans.Concurrency;

namespace Microscope.Farm;

/// <summary>A model organism, keyed by model id: its stored package, catalog and version.</summary>
public interface IModelGrain : IGrainWithStringKey
{
    /// <summary>Registers (or re-registers with a new version) the model; returns what is held.</summary>
    Task<ModelInfo> RegisterAsync(ModelInfo model);

    /// <summary>The model, or null when none was registered under this id.</summary>
    Task<ModelInfo?> GetAsync();

    /// <summary>
    /// Starts the intake of a package staged in the lens store under <paramref name="version"/>: a
    /// job of one intake item that a render silo catalogs and registers. Idempotent while that
    /// version's intake is pending or done; a failed one is started again.
    /// </summary>
    Task<ModelIntakeStatus> StartIntakeAsync(string version, string owner);

    /// <summary>The newest intake's status (ready when the model is registered without one); null when this id has neither.</summary>
    Task<ModelIntakeStatus?> IntakeStatusAsync();
}

/// <summary>A layer, keyed by <see cref="FarmIds.Layer"/>: indexes which lenses its units have.</summary>
public interface ILayerGrain : IGrainWithStringKey
{
    Task RecordAsync(IReadOnlyList<LensRecord> lenses);

    Task<LayerState> GetAsync();

    /// <summary>How many of the layer's units have each lens: the index in counts, for overviews.</summary>
    [Orleans.Concurrency.ReadOnly]
    Task<LayerSummary> SummaryAsync();
}

/// <summary>A unit, keyed by <see cref="FarmIds.Unit"/>: which lenses exist, where, and their quality figures.</summary>
public interface IUnitGrain : IGrainWithStringKey
{
    Task RecordAsync(LensRecord lens);

    Task<UnitState> GetAsync();
}

/// <summary>One render job, keyed by job id: its work items, their leases, and its progress.</summary>
public interface IJobGrain : IGrainWithStringKey
{
    /// <summary>Creates the job from its expanded items (once; later calls return the status).</summary>
    Task<JobStatus> CreateAsync(JobSpec spec, string modelVersion, IReadOnlyList<WorkItem> items);

    Task<JobStatus> GetStatusAsync();

    /// <summary>Up to <paramref name="max"/> waiting items for this worker, leased to it.</summary>
    Task<IReadOnlyList<WorkLease>> LeaseAsync(WorkerInfo worker, int max);

    /// <summary>Extends the leases the worker still holds; returns the ids it no longer holds (lapsed or job stopped).</summary>
    Task<IReadOnlyList<Guid>> RenewAsync(string worker, IReadOnlyList<Guid> leases);

    /// <summary>Marks the leased item done. A lapsed lease is accepted too when the item is still open (the work was done).</summary>
    Task CompleteAsync(Guid lease, string worker, WorkResult result);

    /// <summary>Reports a failed attempt. <paramref name="retry"/> false fails the item for good (a bad request, not a bad silo).</summary>
    Task FailAsync(Guid lease, string worker, string error, bool retry);

    /// <summary>Hands leases back without counting an attempt (graceful shutdown, drain, storage outage).</summary>
    Task ReleaseAsync(string worker, IReadOnlyList<Guid> leases);

    Task<JobStatus> PauseAsync();

    Task<JobStatus> ResumeAsync();

    Task<JobStatus> CancelAsync();

    Task<JobStatus> SetPriorityAsync(int priority);
}

/// <summary>
/// The job directory (one grain, key 0): submits jobs, lists them, and tells workers which jobs
/// have work for them, highest priority first.
/// </summary>
public interface IJobDirectoryGrain : IGrainWithIntegerKey
{
    /// <summary>Queues a model's intake: a job of one <see cref="WorkKind.Intake"/> item, before any other work, outside quotas.</summary>
    Task<JobStatus> SubmitIntakeAsync(string model, string version, string owner);

    /// <summary>Expands and queues a job; idempotent on <see cref="JobSpec.ClientToken"/>.</summary>
    Task<JobStatus> SubmitAsync(JobSpec spec);

    /// <summary>
    /// As <see cref="SubmitAsync"/>, unless the job would take its owner past the quota: then
    /// <see cref="FarmQuotaException"/>. A retried submission (same client token) is never refused.
    /// </summary>
    Task<JobStatus> SubmitWithinQuotaAsync(JobSpec spec, JobQuota quota);

    /// <summary>A page of jobs, newest first: <paramref name="limit"/> of them after skipping <paramref name="offset"/>.</summary>
    Task<IReadOnlyList<JobStatus>> ListAsync(int offset, int limit);

    /// <summary>Ids of jobs that may have work for this worker, highest priority first.</summary>
    Task<IReadOnlyList<string>> ActiveJobsAsync(WorkerInfo worker);

    /// <summary>A job tells the directory its state changed (priority, finished, paused). One-way: jobs never wait on the directory.</summary>
    [OneWay]
    Task JobChangedAsync(string job, JobState state, int priority, int waiting);
}

/// <summary>
/// The render workers of the cluster (one grain, key 0): each reports every few seconds and learns
/// whether an operator asked its silo to drain. Drains are kept in grain storage, so a drained silo
/// that restarts stays drained until it is undrained.
/// </summary>
public interface IWorkerRegistryGrain : IGrainWithIntegerKey
{
    /// <summary>Records the report; answers whether this worker should drain (take no more work).</summary>
    Task<bool> HeartbeatAsync(WorkerReport report);

    Task<IReadOnlyList<WorkerView>> ListAsync();

    /// <summary>Drains (or undrains) a silo, named by its silo name or one of its worker ids; returns its workers.</summary>
    Task<IReadOnlyList<WorkerView>> SetDrainingAsync(string siloOrWorker, bool draining);
}

/// <summary>The list of registered models (one grain, key 0); model grains add themselves.</summary>
public interface IModelDirectoryGrain : IGrainWithIntegerKey
{
    Task AddAsync(string model);

    Task<IReadOnlyList<string>> ListAsync();
}
