using System.Collections.Concurrent;
using Microscope.Lenses;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Microscope.Farm.Rendering;

/// <summary>
/// The render silo's pass sizes: a <see cref="BatchSizer"/> made when the engine is (the silo's
/// start, before any render), and one log line per model, layer, lens and size with the decision and
/// the numbers behind it, so that an operator sees what a device does without a line per item.
/// </summary>
internal sealed class RenderPasses(BatchSizer sizer, ILogger logger)
{
    private readonly ConcurrentDictionary<(string Model, string Layer, string Lens, int Size), bool> logged = new();

    public RenderPasses(RenderEngineOptions options, ModelCache models, ILogger? logger)
        : this(new BatchSizer(options.DeviceMemory, models.Settings, options.Sizing), logger ?? NullLogger.Instance)
    {
    }

    /// <summary>Images per pass for <paramref name="item"/>: its units, or where a unit's images are <paramref name="coupled"/> (diversity) one unit's images, never split.</summary>
    public int ImagesPerPass(WorkItem item, RenderMemory estimate, bool coupled)
    {
        var plan = Plan(sizer, item, estimate, coupled);
        if (logged.TryAdd((item.Model, item.Layer, item.Lens, item.Options.Size), true))
        {
            if (plan.Fits)
            {
                logger.LogInformation("{Model} {Layer} {Lens} at {Size} px: {Plan}", item.Model, item.Layer, item.Lens, item.Options.Size, plan);
            }
            else
            {
                logger.LogWarning("{Model} {Layer} {Lens} at {Size} px: {Plan}; a pass is over the budget and renders anyway ({Why})",
                    item.Model, item.Layer, item.Lens, item.Options.Size, plan,
                    coupled ? "a diversity unit's images are coupled and share one pass" : "a pass has at least one image");
            }
        }

        return plan.ImagesPerPass;
    }

    /// <summary>The plan for <paramref name="item"/>: its units, or one diverse unit's images, which are never split.</summary>
    public static BatchPlan Plan(BatchSizer sizer, WorkItem item, RenderMemory estimate, bool coupled) =>
        sizer.Plan(estimate, coupled ? item.Options.DiversityImages : item.Units.Count, splittable: !coupled);
}
