using System.Text.Json;

namespace Microscope.Farm.Grains.Tests;

/// <summary>The finished job states, said once (JobStates) and read by the ledger, the status and, through the status's JSON, the web UI.</summary>
public sealed class JobStatesTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 7, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Completed_failed_and_cancelled_jobs_are_finished_and_no_other()
    {
        Assert.Equal([JobState.Completed, JobState.Failed, JobState.Cancelled], Enum.GetValues<JobState>().Where(s => s.IsFinished()));
    }

    [Fact]
    public void The_ledger_and_the_status_json_agree_on_finished()
    {
        var ledger = Samples.Ledger(new JobSpec { Model = "tiny", Layers = ["conv1"] }, T0);
        Assert.False(ledger.IsFinished);
        Assert.False(Json(ledger.Status(T0)).GetProperty("isFinished").GetBoolean());

        ledger.Cancel(T0);
        Assert.True(ledger.IsFinished);
        var status = Json(ledger.Status(T0));
        Assert.Equal("Cancelled", status.GetProperty("state").GetString());
        Assert.True(status.GetProperty("isFinished").GetBoolean());
    }

    private static JsonElement Json(JobStatus status)
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web);
        options.Converters.Add(new System.Text.Json.Serialization.JsonStringEnumConverter());
        return JsonSerializer.SerializeToElement(status, options);
    }
}
