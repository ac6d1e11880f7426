namespace Microscope.Farm.Grains;

/// <summary>Where a work item stands in its job.</summary>
public enum ItemStatus
{
    Waiting,
    Leased,
    Done,
    Failed,
}

/// <summary>Where one work item stands: its status, attempts, lease and last error.</summary>
[GenerateSerializer]
public sealed class ItemRecord
{
    [Id(0)] public ItemStatus Status { get; set; }

    /// <summary>Attempts started: leases granted and not handed back.</summary>
    [Id(1)] public int Attempts { get; set; }

    [Id(2)] public string? LastError { get; set; }

    /// <summary>Workers whose attempt failed; a retry goes to another worker when one is alive.</summary>
    [Id(3)] public List<string> FailedOn { get; set; } = [];

    [Id(4)] public Guid LeaseId { get; set; }

    [Id(5)] public string? Holder { get; set; }

    [Id(6)] public DateTimeOffset LeaseExpires { get; set; }

    /// <summary>Whether the completing attempt rendered (false: every output already existed).</summary>
    [Id(7)] public bool Rendered { get; set; }
}
