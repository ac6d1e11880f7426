namespace Microscope.Farm;

/// <summary>
/// Renders one work item into the lens store and says what it stored. Implementations skip the
/// render when every output already exists (so a retried or resumed item is never rendered twice),
/// and throw an exception whose type tells the worker whether to retry (see the worker's error kinds).
/// </summary>
public interface IRenderEngine
{
    /// <param name="steps">Optimization steps as they are done, for the steps-per-second figure.</param>
    Task<WorkResult> RenderAsync(WorkItem item, IProgress<int>? steps, CancellationToken cancellationToken);

    /// <summary>
    /// The datasets this engine can scan, by name: what its render worker reports, so that a job
    /// naming a dataset no render silo has is refused at submission instead of failing later.
    /// </summary>
    IReadOnlyList<string> Datasets => [];
}
