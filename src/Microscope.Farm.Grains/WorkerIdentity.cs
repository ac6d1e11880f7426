namespace Microscope.Farm.Grains;

/// <summary>Who a worker is: unique per process start, so a restarted silo is a new worker with no stale leases.</summary>
public sealed record WorkerIdentity(string Id, string Silo)
{
    public static WorkerIdentity Create(string silo) =>
        new($"{silo}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..6]}", silo);
}
