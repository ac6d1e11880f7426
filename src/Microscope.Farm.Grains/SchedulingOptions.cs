namespace Microscope.Farm.Grains;

/// <summary>How jobs hand out work: leases, retries, and how often state is written.</summary>
public sealed class SchedulingOptions
{
    public const string Section = "Farm:Scheduling";

    /// <summary>A lease not renewed for this long lapses and its item goes back to the queue.</summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Attempts per item (the first try included) before it fails for good.</summary>
    public int MaxAttempts { get; set; } = 3;

    /// <summary>A worker whose attempts at one job failed this many times takes no more of its items.</summary>
    public int WorkerFailuresBeforeExclusion { get; set; } = 2;

    /// <summary>
    /// Completions are written to grain storage at most this often (and at once on every state change
    /// of the job). What a crash loses in between is found already stored and not rendered again.
    /// </summary>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>A worker seen leasing within this window counts as alive when choosing another worker for a retry.</summary>
    public TimeSpan WorkerSeenWindow { get; set; } = TimeSpan.FromSeconds(60);
}
