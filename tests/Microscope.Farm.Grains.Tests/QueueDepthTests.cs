using System.Diagnostics.Metrics;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;

namespace Microscope.Farm.Grains.Tests;

public class QueueDepthTests
{
    [Fact]
    public void The_tags_label_is_the_required_tags_lower_cased_distinct_sorted_and_wrapped_in_commas()
    {
        Assert.Equal(",", QueueDepth.Label([]));
        Assert.Equal(",fp16,nvidia-h200,", QueueDepth.Label(["nvidia-H200", "fp16", "FP16"]));
    }

    /// <summary>The chart's autoscaler selects a pool's items with ",((tag|tag),)*" over the pool's lower-cased tags, dots in brackets.</summary>
    [Theory]
    [InlineData(new string[0], true)]
    [InlineData(new[] { "NVIDIA-H200" }, true)]
    [InlineData(new[] { "fp16", "nvidia-h200" }, true)]
    [InlineData(new[] { "a100" }, false)]
    [InlineData(new[] { "nvidia-h200", "a100" }, false)]
    [InlineData(new[] { "cuda13x0" }, false)]
    public void A_pools_tag_pattern_selects_exactly_the_jobs_it_can_serve(string[] required, bool served)
    {
        string[] poolTags = ["nvidia-h200", "fp16", "cuda13.0"];
        var pattern = $",(({string.Join("|", poolTags.Select(t => t.ToLowerInvariant().Replace(".", "[.]", StringComparison.Ordinal)))}),)*";

        Assert.Equal(served, Regex.IsMatch(QueueDepth.Label(required), $"^(?:{pattern})$"));
        Assert.Equal(served, new WorkerInfo("w", "silo", "cuda:0", poolTags, 1).Serves(required));
    }

    [Fact]
    public void Waiting_items_are_counted_per_priority_and_tags()
    {
        var depth = new QueueDepth(Meters());
        depth.Report("a", 5, ["gpu"], 3);
        depth.Report("b", 5, ["GPU"], 4);
        depth.Report("c", 5, [], 5);
        Assert.Equal([(5, ",", 5), (5, ",gpu,", 7)], depth.Snapshot().OrderBy(s => s.Tags, StringComparer.Ordinal));

        depth.Report("b", 5, ["gpu"], 0);
        Assert.Equal(3, depth.Snapshot().Single(s => s.Tags == ",gpu,").Waiting);
        depth.Forget("a");
        Assert.Equal([(5, ",", 5)], depth.Snapshot());
    }

    /// <summary>Each silo's services have their own queue depth and render slots: silos sharing a process (the test cluster) never report each other's.</summary>
    [Fact]
    public void Each_silo_reports_its_own_jobs_and_slots_through_its_own_gauges()
    {
        var (first, second) = (Meters(), Meters());
        var (one, other) = (new QueueDepth(first), new QueueDepth(second));
        var (slots, otherSlots) = (new RenderSlots(first), new RenderSlots(second));
        one.Report("job", 1, [], 2);
        other.Report("job", 1, [], 40);
        slots.Add(new WorkerInfo("w1", "silo", "cpu", [], 3));
        otherSlots.Add(new WorkerInfo("w2", "silo", "cpu", [], 7));

        var measured = new List<(string Instrument, int Value)>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (ReferenceEquals(instrument.Meter.Scope, first))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<int>((instrument, value, _, _) => measured.Add((instrument.Name, value)));
        listener.Start();
        listener.RecordObservableInstruments();

        Assert.Equal([("microscope.queue.depth", 2), ("microscope.render.slots", 3)], measured.Order());
    }

    private static IMeterFactory Meters() => new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>();
}
