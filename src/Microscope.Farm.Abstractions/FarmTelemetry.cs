using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Microscope.Farm;

/// <summary>
/// The farm's own trace source and meter, and the names of its instruments. Every role registers
/// these names with OpenTelemetry in one place (ServiceDefaults); the code that measures lives next
/// to what it measures.
/// </summary>
public static class FarmTelemetry
{
    public const string Name = "Microscope.Farm";

    public static readonly ActivitySource Source = new(Name);

    public static readonly Meter Meter = new(Name);

    public static readonly Counter<long> LensesRendered = Meter.CreateCounter<long>("microscope.lenses.rendered", "{lens}", "Lenses rendered and stored.");

    /// <summary>Buckets in seconds from a simulated 50 ms render to a 20-minute dataset shard (the exporters' defaults suit milliseconds).</summary>
    public static readonly Histogram<double> RenderSeconds = Meter.CreateHistogram("microscope.render.duration", "s", "Seconds to render one work item.", tags: null,
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600, 1200] });

    public static readonly Counter<long> LeaseExpirations = Meter.CreateCounter<long>("microscope.lease.expirations", "{lease}", "Leases that lapsed and put their item back.");

    public static readonly Counter<long> Retries = Meter.CreateCounter<long>("microscope.work.retries", "{item}", "Failed attempts that were put back for another try.");

    public static readonly Counter<long> ItemsFailed = Meter.CreateCounter<long>("microscope.work.failed", "{item}", "Work items that failed for good.");

    public static readonly Counter<long> OptimizationSteps = Meter.CreateCounter<long>("microscope.optimization.steps", "{step}", "Optimization steps run; its rate is steps per second.");

    public static readonly Counter<double> DeviceBusySeconds = Meter.CreateCounter<double>("microscope.device.busy", "s", "Slot-seconds spent rendering; its rate over slots is the busy fraction.");

    /// <summary>Attribute names, one spelling everywhere.</summary>
    public static class Tags
    {
        public const string Model = "microscope.model";
        public const string Layer = "microscope.layer";
        public const string Unit = "microscope.unit";
        public const string Lens = "microscope.lens";
        public const string Job = "microscope.job";
        public const string Silo = "microscope.silo";
        public const string Device = "microscope.device";
        public const string Priority = "microscope.priority";

        /// <summary>A job's required tags as the queue-depth gauge labels them (",a,b,"; "," for none).</summary>
        public const string RequiredTags = "microscope.required_tags";
    }
}
