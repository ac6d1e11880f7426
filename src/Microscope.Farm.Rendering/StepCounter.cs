using Microscope.Optvis;

namespace Microscope.Farm.Rendering;

/// <summary>Counts optimization steps from render progress and passes the increments on (for steps per second).</summary>
internal sealed class StepCounter(IProgress<int>? steps) : IProgress<RenderProgress>
{
    private int last;

    public long Total { get; private set; }

    public void Report(RenderProgress value)
    {
        // Steps restart at each DeepDream octave; feature visualization counts on across its passes.
        var delta = value.Step >= last ? value.Step - last : value.Step;
        last = value.Step;
        Total += delta;
        steps?.Report(delta);
    }

    /// <summary>Feature visualization's progress (done, total, mean objective) as steps.</summary>
    public IProgress<(int Done, int Total, double MeanObjective)> ForBatches() => new Batches(this);

    private sealed class Batches(StepCounter counter) : IProgress<(int Done, int Total, double MeanObjective)>
    {
        public void Report((int Done, int Total, double MeanObjective) value) => counter.Report(new RenderProgress(value.Done, value.Total, value.MeanObjective));
    }
}
