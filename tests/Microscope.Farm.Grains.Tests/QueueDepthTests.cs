using System.Text.RegularExpressions;

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
        const int priority = 987_654;
        QueueDepth.Report("queue-depth-a", priority, ["gpu"], 3);
        QueueDepth.Report("queue-depth-b", priority, ["GPU"], 4);
        QueueDepth.Report("queue-depth-c", priority, [], 5);
        try
        {
            var mine = QueueDepth.Snapshot().Where(s => s.Priority == priority).OrderBy(s => s.Tags, StringComparer.Ordinal).ToList();
            Assert.Equal([(priority, ",", 5), (priority, ",gpu,", 7)], mine);

            QueueDepth.Report("queue-depth-b", priority, ["gpu"], 0);
            Assert.Equal(3, QueueDepth.Snapshot().Single(s => s.Priority == priority && s.Tags == ",gpu,").Waiting);
        }
        finally
        {
            foreach (var job in new[] { "queue-depth-a", "queue-depth-b", "queue-depth-c" })
            {
                QueueDepth.Forget(job);
            }
        }
    }
}
