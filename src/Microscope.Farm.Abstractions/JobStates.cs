namespace Microscope.Farm;

/// <summary>What a job's state means, said once: the ledger, the job status (and its JSON's <c>isFinished</c>, which the web UI reads) use it.</summary>
public static class JobStates
{
    /// <summary>Whether a job in <paramref name="state"/> is over: it changes no more, takes no work and has no ETA.</summary>
    public static bool IsFinished(this JobState state) => state is JobState.Completed or JobState.Failed or JobState.Cancelled;
}
