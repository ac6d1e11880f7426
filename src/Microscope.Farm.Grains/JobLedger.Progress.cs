namespace Microscope.Farm.Grains;

/// <summary>What a job's ledger reports: its counts, its status and the time left.</summary>
public sealed partial class JobLedger
{
    public JobCounts Counts()
    {
        int done = 0, running = 0, waiting = 0, failed = 0;
        foreach (var record in Records)
        {
            switch (record.Status)
            {
                case ItemStatus.Done: done++; break;
                case ItemStatus.Leased: running++; break;
                case ItemStatus.Waiting: waiting++; break;
                default: failed++; break;
            }
        }

        return new JobCounts(Records.Count, done, running, waiting, failed);
    }

    public JobStatus Status(DateTimeOffset now)
    {
        var counts = Counts();
        var failures = Records.Select((r, i) => (r, i)).Where(x => x.r.Status == ItemStatus.Failed)
            .Select(x => new ItemFailure(x.i, Items[x.i].Describe(), x.r.LastError ?? "failed", x.r.Attempts, [.. x.r.FailedOn.Distinct()]))
            .ToList();
        return new JobStatus(Id, Spec!, State, counts, SubmittedAt, StartedAt, FinishedAt, Eta(counts, now), failures, ModelVersion, Renders, Retries, LeaseExpirations);
    }

    /// <summary>Seconds left at the rate of the recent completions; null until there is a rate, and while paused (nothing is coming).</summary>
    private double? Eta(JobCounts counts, DateTimeOffset now)
    {
        var left = counts.Waiting + counts.Running;
        if (State == JobState.Paused)
        {
            return null;
        }

        if (IsFinished || left == 0)
        {
            return IsFinished ? null : 0;
        }

        if (completions.Count < 2)
        {
            return null;
        }

        var span = (now - completions.Peek()).TotalSeconds;
        return span <= 0 ? null : left / (completions.Count / span);
    }
}
