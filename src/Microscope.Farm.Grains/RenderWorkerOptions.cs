namespace Microscope.Farm.Grains;

/// <summary>A render silo's worker: how many items it renders at once, on which device, with which tags.</summary>
public sealed class RenderWorkerOptions
{
    public const string Section = "Farm:Render";

    /// <summary>Items rendered at once on the device.</summary>
    public int Slots { get; set; } = 1;

    /// <summary>cpu or cuda:N.</summary>
    public string Device { get; set; } = "cpu";

    /// <summary>What this silo offers (a GPU kind, say); jobs may require tags.</summary>
    public List<string> Tags { get; set; } = [];

    /// <summary>The wait between polls when there was no work; doubled up to <see cref="MaxPollInterval"/> while idle.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    public TimeSpan MaxPollInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long the worker takes no work after the lens store was unreachable.</summary>
    public TimeSpan StoragePause { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often the worker reports to the worker registry (and so how soon an operator's drain takes effect).</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>On shutdown, how long running renders get to notice cancellation before their leases are handed back anyway.</summary>
    public TimeSpan ShutdownGrace { get; set; } = TimeSpan.FromSeconds(10);
}
