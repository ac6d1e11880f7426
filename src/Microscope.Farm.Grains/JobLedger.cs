namespace Microscope.Farm.Grains;

/// <summary>
/// A job's work items and their leases: the whole scheduling logic of one job, as plain state and
/// methods that take the time as an argument, so it is tested without a cluster or a clock. The job
/// grain persists it and adds nothing but storage, timers and notifications.
/// </summary>
[GenerateSerializer]
public sealed partial class JobLedger
{
    [Id(0)] public string Id { get; set; } = "";

    [Id(1)] public JobSpec? Spec { get; set; }

    [Id(2)] public string ModelVersion { get; set; } = "";

    [Id(3)] public List<WorkItem> Items { get; set; } = [];

    [Id(4)] public List<ItemRecord> Records { get; set; } = [];

    [Id(5)] public JobState State { get; set; }

    [Id(6)] public DateTimeOffset SubmittedAt { get; set; }

    [Id(7)] public DateTimeOffset? StartedAt { get; set; }

    [Id(8)] public DateTimeOffset? FinishedAt { get; set; }

    [Id(9)] public long Renders { get; set; }

    [Id(10)] public long Retries { get; set; }

    [Id(11)] public long LeaseExpirations { get; set; }

    [Id(12)] public Dictionary<string, int> WorkerFailures { get; set; } = [];

    /// <summary>The W3C traceparent of the submission, so renders join the submitter's trace.</summary>
    [Id(13)] public string? TraceParent { get; set; }

    // Not persisted: rebuilt from the records, or only a figure for this activation.
    [NonSerialized]
    private readonly Dictionary<Guid, int> leases = [];
    [NonSerialized]
    private readonly Dictionary<string, DateTimeOffset> workersSeen = [];
    [NonSerialized]
    private readonly Queue<DateTimeOffset> completions = new();

    public bool IsCreated => Spec is not null;

    public bool IsFinished => State.IsFinished();

    /// <summary>Starts the ledger of a new job.</summary>
    public void Create(string id, JobSpec spec, string modelVersion, IReadOnlyList<WorkItem> items, DateTimeOffset now, string? traceParent)
    {
        Id = id;
        Spec = spec;
        ModelVersion = modelVersion;
        Items = [.. items];
        Records = [.. items.Select(_ => new ItemRecord())];
        State = items.Count == 0 ? JobState.Completed : JobState.Queued;
        SubmittedAt = now;
        FinishedAt = items.Count == 0 ? now : null;
        TraceParent = traceParent;
    }

    /// <summary>After a load from storage: leases held when it was written are honoured for one more lease period.</summary>
    public void Restore(DateTimeOffset now, TimeSpan leaseDuration)
    {
        leases.Clear();
        for (var i = 0; i < Records.Count; i++)
        {
            if (Records[i].Status == ItemStatus.Leased)
            {
                Records[i].LeaseExpires = now + leaseDuration;
                leases[Records[i].LeaseId] = i;
            }
        }
    }

    /// <summary>Grants up to <paramref name="max"/> ready items to the worker, in plan order (early layers first).</summary>
    public List<WorkLease> Lease(WorkerInfo worker, int max, DateTimeOffset now, SchedulingOptions options)
    {
        var granted = new List<WorkLease>();
        if (Spec is null || State is not (JobState.Queued or JobState.Running) || !worker.Serves(Spec.RequiredTags))
        {
            return granted;
        }

        ExpireLeases(now, options);
        workersSeen[worker.Id] = now;
        if (max <= 0 || IsExcluded(worker.Id, now, options))
        {
            return granted;
        }

        var othersAlive = OtherLiveWorkers(worker.Id, now, options);
        for (var i = 0; i < Records.Count && granted.Count < max; i++)
        {
            var record = Records[i];
            if (record.Status != ItemStatus.Waiting || !DependenciesDone(i) || othersAlive && record.FailedOn.Contains(worker.Id))
            {
                continue;
            }

            record.Status = ItemStatus.Leased;
            record.LeaseId = Guid.NewGuid();
            record.Holder = worker.Id;
            record.LeaseExpires = now + options.LeaseDuration;
            record.Attempts++;
            leases[record.LeaseId] = i;
            granted.Add(new WorkLease(Items[i], record.LeaseId, record.LeaseExpires, record.Attempts, TraceParent));
        }

        if (granted.Count > 0 && State == JobState.Queued)
        {
            State = JobState.Running;
            StartedAt ??= now;
        }

        return granted;
    }

    /// <summary>Extends the worker's leases; returns those it no longer holds.</summary>
    public List<Guid> Renew(string worker, IReadOnlyList<Guid> ids, DateTimeOffset now, SchedulingOptions options)
    {
        ExpireLeases(now, options);
        var lost = new List<Guid>();
        foreach (var id in ids)
        {
            if (State is JobState.Cancelled || !TryHeld(id, worker, out var record))
            {
                lost.Add(id);
                continue;
            }

            record.LeaseExpires = now + options.LeaseDuration;
        }

        return lost;
    }

    /// <summary>
    /// Marks the item of this lease done. A completion after the lease lapsed still counts when the
    /// item is not done yet: its outputs are stored, whoever holds it now will find them there.
    /// Returns false when the lease is unknown or the item was already finished.
    /// </summary>
    public bool Complete(Guid id, bool rendered, DateTimeOffset now)
    {
        if (!leases.TryGetValue(id, out var index))
        {
            return false;
        }

        leases.Remove(id);
        var record = Records[index];
        if (record.Status is ItemStatus.Done or ItemStatus.Failed)
        {
            return false;
        }

        record.Status = ItemStatus.Done;
        record.Rendered = rendered;
        record.Holder = null;
        Renders += rendered ? 1 : 0;
        completions.Enqueue(now);
        while (completions.Count > 256)
        {
            completions.Dequeue();
        }

        FinishIfDone(now);
        return true;
    }

    /// <summary>Records a failed attempt: retried elsewhere while attempts remain and <paramref name="retry"/> is true.</summary>
    public ItemStatus? Fail(Guid id, string worker, string error, bool retry, DateTimeOffset now, SchedulingOptions options)
    {
        WorkerFailures[worker] = WorkerFailures.GetValueOrDefault(worker) + 1;
        if (!TryHeld(id, worker, out var record))
        {
            return null;
        }

        leases.Remove(id);
        record.FailedOn.Add(worker);
        record.LastError = error;
        record.Holder = null;
        if (retry && record.Attempts < options.MaxAttempts)
        {
            record.Status = ItemStatus.Waiting;
            Retries++;
        }
        else
        {
            record.Status = ItemStatus.Failed;
            FailDependents();
            FinishIfDone(now);
        }

        return record.Status;
    }

    /// <summary>Puts the worker's leased items back without counting the attempt.</summary>
    public int Release(string worker, IReadOnlyList<Guid> ids)
    {
        var released = 0;
        foreach (var id in ids)
        {
            if (TryHeld(id, worker, out var record))
            {
                leases.Remove(id);
                record.Status = ItemStatus.Waiting;
                record.Holder = null;
                record.Attempts = Math.Max(0, record.Attempts - 1);
                released++;
            }
        }

        return released;
    }

    /// <summary>Lapsed leases put their items back (or fail them once attempts are used up); returns how many lapsed.</summary>
    public int ExpireLeases(DateTimeOffset now, SchedulingOptions options)
    {
        var lapsed = 0;
        for (var i = 0; i < Records.Count; i++)
        {
            var record = Records[i];
            if (record.Status != ItemStatus.Leased || record.LeaseExpires > now)
            {
                continue;
            }

            lapsed++;
            LeaseExpirations++;
            record.LastError = $"the lease held by {record.Holder} lapsed (the worker died, hung or lost touch)";
            record.FailedOn.Add(record.Holder ?? "");
            record.Holder = null;
            if (record.Attempts < options.MaxAttempts)
            {
                record.Status = ItemStatus.Waiting;
            }
            else
            {
                record.Status = ItemStatus.Failed;
                FailDependents();
                FinishIfDone(now);
            }
        }

        return lapsed;
    }

    public void Pause()
    {
        if (State is JobState.Queued or JobState.Running)
        {
            State = JobState.Paused;
        }
    }

    public void Resume()
    {
        if (State == JobState.Paused)
        {
            State = StartedAt is null ? JobState.Queued : JobState.Running;
        }
    }

    public void Cancel(DateTimeOffset now)
    {
        if (!IsFinished)
        {
            State = JobState.Cancelled;
            FinishedAt = now;
        }
    }

    public void SetPriority(int priority)
    {
        Spec = Spec! with { Priority = priority };
    }

    private bool TryHeld(Guid id, string worker, out ItemRecord record)
    {
        record = null!;
        if (!leases.TryGetValue(id, out var index))
        {
            return false;
        }

        record = Records[index];
        return record.Status == ItemStatus.Leased && record.LeaseId == id && record.Holder == worker;
    }

    private bool DependenciesDone(int index) => Items[index].DependsOn.All(d => Records[d].Status == ItemStatus.Done);

    /// <summary>A worker that failed this job too often is kept off it, as long as some other worker can go on.</summary>
    private bool IsExcluded(string worker, DateTimeOffset now, SchedulingOptions options) =>
        FailedTooOften(worker, options) && OtherLiveWorkers(worker, now, options);

    private bool OtherLiveWorkers(string worker, DateTimeOffset now, SchedulingOptions options) =>
        workersSeen.Any(w => w.Key != worker && now - w.Value < options.WorkerSeenWindow && !FailedTooOften(w.Key, options));

    private bool FailedTooOften(string worker, SchedulingOptions options) => WorkerFailures.GetValueOrDefault(worker) >= options.WorkerFailuresBeforeExclusion;

    /// <summary>A merge whose shard failed can never run: it fails too, naming the shard.</summary>
    private void FailDependents()
    {
        for (var i = 0; i < Items.Count; i++)
        {
            var failed = Items[i].DependsOn.Where(d => Records[d].Status == ItemStatus.Failed).Select(d => (int?)d).FirstOrDefault();
            if (Records[i].Status == ItemStatus.Waiting && failed is { } f)
            {
                Records[i].Status = ItemStatus.Failed;
                Records[i].LastError = $"item {f} ({Items[f].Describe()}), which this one needs, failed";
            }
        }
    }

    private void FinishIfDone(DateTimeOffset now)
    {
        if (IsFinished || Records.Any(r => r.Status is ItemStatus.Waiting or ItemStatus.Leased))
        {
            return;
        }

        State = Records.Any(r => r.Status == ItemStatus.Failed) ? JobState.Failed : JobState.Completed;
        FinishedAt = now;
    }
}
