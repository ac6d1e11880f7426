namespace Microscope.Farm;

/// <summary>What to render: which lenses of which units of which layers of one model, and how urgently.</summary>
[GenerateSerializer, Immutable]
public sealed record JobSpec
{
    [Id(0)] public required string Model { get; init; }

    /// <summary>Lens names; featurevis when empty.</summary>
    [Id(1)] public IReadOnlyList<string> Lenses { get; init; } = [];

    /// <summary>Layer ids in the order to render them; every layer (graph order, early first) when empty.</summary>
    [Id(2)] public IReadOnlyList<string> Layers { get; init; } = [];

    /// <summary>Units of each layer; every unit when null. Units a layer lacks are left out of it.</summary>
    [Id(3)] public IReadOnlyList<int>? Units { get; init; }

    [Id(4)] public LensOptions Options { get; init; } = LensOptions.Default;

    /// <summary>Higher goes first; jobs of equal priority go in submission order.</summary>
    [Id(5)] public int Priority { get; init; }

    /// <summary>Submitting twice with the same token returns the first job (idempotent retries).</summary>
    [Id(6)] public string? ClientToken { get; init; }

    /// <summary>Tags a render silo must have to take this job's work (a GPU kind, say).</summary>
    [Id(7)] public IReadOnlyList<string> RequiredTags { get; init; } = [];

    /// <summary>Units rendered together in one work item (and one batch on the device).</summary>
    [Id(8)] public int UnitsPerItem { get; init; } = 8;

    /// <summary>Dataset shards per layer for dataset examples (each a work item; merged exactly by the layer).</summary>
    [Id(9)] public int DatasetShards { get; init; } = 4;

    /// <summary>Who submitted it (an API key's name); empty for the embedded default job.</summary>
    [Id(10)] public string Owner { get; init; } = "";

    /// <summary>A model's intake (one item a render silo catalogs, <see cref="WorkKind.Intake"/>), not a render; made by the farm, never submitted.</summary>
    [Id(11)] public bool Intake { get; init; }
}

public enum JobState
{
    Queued,
    Running,
    Paused,
    Completed,
    Failed,
    Cancelled,
}

/// <summary>Work items by state.</summary>
[GenerateSerializer, Immutable]
public sealed record JobCounts(
    [property: Id(0)] int Total,
    [property: Id(1)] int Done,
    [property: Id(2)] int Running,
    [property: Id(3)] int Waiting,
    [property: Id(4)] int Failed)
{
    public static JobCounts Empty { get; } = new(0, 0, 0, 0, 0);
}

/// <summary>A work item that failed for good, with the last error.</summary>
[GenerateSerializer, Immutable]
public sealed record ItemFailure(
    [property: Id(0)] int Item,
    [property: Id(1)] string Description,
    [property: Id(2)] string Error,
    [property: Id(3)] int Attempts,
    [property: Id(4)] IReadOnlyList<string> Workers);

[GenerateSerializer, Immutable]
public sealed record JobStatus(
    [property: Id(0)] string Id,
    [property: Id(1)] JobSpec Spec,
    [property: Id(2)] JobState State,
    [property: Id(3)] JobCounts Counts,
    [property: Id(4)] DateTimeOffset SubmittedAt,
    [property: Id(5)] DateTimeOffset? StartedAt,
    [property: Id(6)] DateTimeOffset? FinishedAt,
    [property: Id(7)] double? EtaSeconds,
    [property: Id(8)] IReadOnlyList<ItemFailure> Failures,
    [property: Id(9)] string ModelVersion,
    [property: Id(10)] long Renders,
    [property: Id(11)] long Retries,
    [property: Id(12)] long LeaseExpirations)
{
    public bool IsFinished => State.IsFinished();
}

/// <summary>What a work item does.</summary>
public enum WorkKind
{
    /// <summary>Render one lens for a batch of units (or, for layer lenses, the layer).</summary>
    Render,

    /// <summary>Scan one shard of a dataset once through every layer asked; writes each layer's mergeable per-unit statistics.</summary>
    DatasetShard,

    /// <summary>Merge a layer's dataset shards exactly and write each unit's dataset examples.</summary>
    DatasetMerge,

    /// <summary>Catalog a model package staged by an upload (the probe run and gradient build) and register the model.</summary>
    Intake,
}

/// <summary>One schedulable piece of a job.</summary>
[GenerateSerializer, Immutable]
public sealed record WorkItem(
    [property: Id(0)] string Job,
    [property: Id(1)] int Index,
    [property: Id(2)] WorkKind Kind,
    [property: Id(3)] string Model,
    [property: Id(4)] string ModelVersion,
    [property: Id(5)] string Layer,
    [property: Id(6)] string Lens,
    [property: Id(7)] IReadOnlyList<int> Units,
    [property: Id(8)] LensOptions Options,
    [property: Id(9)] int Shard,
    [property: Id(10)] int Shards,
    [property: Id(11)] IReadOnlyList<int> DependsOn,
    [property: Id(12)] IReadOnlyList<string>? ScanLayers = null)
{
    /// <summary>
    /// The layers a dataset shard scans in one pass over its images (<see cref="ScanLayers"/>, or
    /// <see cref="Layer"/> alone); it stores each layer's state where that layer's merges read it.
    /// </summary>
    public IReadOnlyList<string> ScannedLayers => ScanLayers is { Count: > 0 } ? ScanLayers : [Layer];

    public string Describe() => Kind switch
    {
        WorkKind.DatasetShard when ScannedLayers.Count > 1 => $"{Model}/{Layer} and {ScannedLayers.Count - 1} more layers {Lens} shard {Shard + 1} of {Shards}",
        WorkKind.DatasetShard => $"{Model}/{Layer} {Lens} shard {Shard + 1} of {Shards}",
        WorkKind.DatasetMerge => $"{Model}/{Layer} {Lens} merge of {Shards} shards",
        WorkKind.Intake => $"{Model} version {ModelVersion} intake (catalog)",
        _ when Units.Count == 0 => $"{Model}/{Layer} {Lens}",
        _ => $"{Model}/{Layer} units {UnitsText()} {Lens}",
    };

    private string UnitsText() => Units.Count == 1 ? Units[0].ToString(System.Globalization.CultureInfo.InvariantCulture)
        : Units[^1] - Units[0] == Units.Count - 1 ? $"{Units[0]}-{Units[^1]}" : string.Join(",", Units);
}

/// <summary>A work item held by one worker until <see cref="ExpiresAt"/>, unless renewed.</summary>
[GenerateSerializer, Immutable]
public sealed record WorkLease(
    [property: Id(0)] WorkItem Item,
    [property: Id(1)] Guid LeaseId,
    [property: Id(2)] DateTimeOffset ExpiresAt,
    [property: Id(3)] int Attempt,
    [property: Id(4)] string? TraceParent);

/// <summary>A render slot pool: one per render silo and device.</summary>
[GenerateSerializer, Immutable]
public sealed record WorkerInfo(
    [property: Id(0)] string Id,
    [property: Id(1)] string Silo,
    [property: Id(2)] string Device,
    [property: Id(3)] IReadOnlyList<string> Tags,
    [property: Id(4)] int Slots,
    [property: Id(5)] IReadOnlyList<string>? Datasets = null)
{
    public bool Serves(IReadOnlyList<string> required) => required.All(t => Tags.Contains(t, StringComparer.OrdinalIgnoreCase));
}

/// <summary>
/// What one caller (API key) may have: unfinished jobs at once, work items submitted in 24 hours, and
/// the work items and render cost (<c>JobPlanner.Cost</c>) of one job; 0 is no limit.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record JobQuota(
    [property: Id(0)] int ConcurrentJobs,
    [property: Id(1)] long ItemsPerDay,
    [property: Id(2)] int ItemsPerJob = 0,
    [property: Id(3)] double CostPerJob = 0)
{
    public static readonly JobQuota Unlimited = new(0, 0);
}

/// <summary>What a render worker tells the worker registry on each heartbeat.</summary>
[GenerateSerializer, Immutable]
public sealed record WorkerReport(
    [property: Id(0)] WorkerInfo Info,
    [property: Id(1)] int Running,
    [property: Id(2)] bool Stopping);

/// <summary>A render worker as operators see it: its last report, and whether it was told to drain.</summary>
[GenerateSerializer, Immutable]
public sealed record WorkerView(
    [property: Id(0)] WorkerInfo Info,
    [property: Id(1)] int Running,
    [property: Id(2)] bool Draining,
    [property: Id(3)] bool Stopping,
    [property: Id(4)] DateTimeOffset LastSeen,
    [property: Id(5)] bool Alive);

/// <summary>One stored lens of a unit (or of a layer, unit -1).</summary>
[GenerateSerializer, Immutable]
public sealed record LensRecord(
    [property: Id(0)] string Lens,
    [property: Id(1)] int Unit,
    [property: Id(2)] string OptionsHash,
    [property: Id(3)] string ImagePath,
    [property: Id(4)] string? DataPath,
    [property: Id(5)] IReadOnlyDictionary<string, double> Quality,
    [property: Id(6)] DateTimeOffset RenderedAt,
    [property: Id(7)] LensOptions Options,
    [property: Id(8)] string ModelVersion = "");

/// <summary>What a finished work item produced; <see cref="Rendered"/> is false when every output already existed.</summary>
[GenerateSerializer, Immutable]
public sealed record WorkResult(
    [property: Id(0)] IReadOnlyList<LensRecord> Lenses,
    [property: Id(1)] bool Rendered,
    [property: Id(2)] double Seconds,
    [property: Id(3)] long OptimizationSteps);
