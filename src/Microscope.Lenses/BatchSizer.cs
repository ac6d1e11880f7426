using System.Globalization;
using Microscope.Inference;

namespace Microscope.Lenses;

/// <summary>How a render silo sizes its passes (Farm:Render in the farm).</summary>
public sealed record BatchSizing
{
    /// <summary>The fraction of the device's free memory the render slots may plan for, together (0 to 1).</summary>
    public double MemoryHeadroom { get; init; } = 0.8;

    /// <summary>Most images in one pass whatever the memory; null: no cap.</summary>
    public int? MaxBatch { get; init; }

    /// <summary>Render slots sharing the device: each plans for its share of the budget.</summary>
    public int Slots { get; init; } = 1;

    /// <summary>What is wrong with the values, or null; <paramref name="prefix"/> names the settings ("Farm:Render:").</summary>
    public string? Problem(string prefix = "") =>
        !(MemoryHeadroom > 0 && MemoryHeadroom <= 1) ? $"{prefix}MemoryHeadroom must be a fraction above 0 and at most 1 (0.8 plans for 80 % of the free memory), not {MemoryHeadroom.ToString(CultureInfo.InvariantCulture)}."
        : MaxBatch is < 1 ? $"{prefix}MaxBatch must be at least 1 (or left out for no cap), not {MaxBatch}."
        : Slots < 1 ? $"{prefix}Slots must be at least 1, not {Slots}."
        : null;
}

/// <summary>A decision: images per pass, and the numbers behind it for the log.</summary>
/// <param name="BudgetBytes">The slot's budget; null when the device's memory could not be read and nothing capped it.</param>
/// <param name="Fits">False when even the smallest pass allowed (one image, or a diversity unit's images) is over the budget: it renders anyway.</param>
public sealed record BatchPlan(int ImagesPerPass, int Requested, RenderMemory Memory, long? BudgetBytes, bool Fits, string Reasons)
{
    public override string ToString() =>
        $"{ImagesPerPass} image{(ImagesPerPass == 1 ? "" : "s")} per pass of {Requested} " +
        $"(est. {DeviceMemoryReading.Bytes(Memory.BytesPerImage)} each + {DeviceMemoryReading.Bytes(Memory.FixedBytes)} per pass, {Reasons})";
}

/// <summary>
/// Chooses how many images a render slot puts in one pass: as many as fit its share of the device's
/// memory, at least one, at most what was asked for. The share is the free memory read when the
/// sizer is made (the render silo's start, before any render's arena has grown) times the headroom,
/// divided among the slots. Free memory read later would count the arenas of slots rendering at that
/// moment, and ONNX Runtime's CUDA arena keeps what it reserved, so the start reading is the one to
/// share. Each plan also reads the memory again and takes the smaller of the share and the headroom
/// of what is free now: while the slots stay within their shares the share is the smaller, and a
/// device that something else took memory from gets smaller passes. With a CUDA arena limit
/// (<see cref="SessionSettings.CudaMemoryLimit"/>) a slot's session cannot grow past it, so it caps
/// the budget too. Where memory cannot be read at all, every image goes in one pass, as before.
/// </summary>
public sealed class BatchSizer
{
    private readonly IDeviceMemory memory;
    private readonly SessionSettings settings;

    public BatchSizer(IDeviceMemory memory, SessionSettings settings, BatchSizing sizing)
    {
        if (sizing.Problem() is { } problem)
        {
            throw new ArgumentException(problem, nameof(sizing));
        }

        this.memory = memory;
        this.settings = settings;
        Sizing = sizing;
        Start = memory.Read(settings.Device);
    }

    public BatchSizing Sizing { get; }

    /// <summary>The reading the slots' shares come from.</summary>
    public DeviceMemoryReading Start { get; }

    /// <param name="splittable">False for a diversity unit, whose images are coupled by the diversity term: all of them go in one pass, fitting or not.</param>
    public BatchPlan Plan(RenderMemory estimate, int requested, bool splittable = true)
    {
        var wanted = Math.Max(1, splittable && Sizing.MaxBatch is { } cap ? Math.Min(requested, cap) : requested);
        var (budget, reasons) = Budget();
        if (budget is null)
        {
            return new BatchPlan(wanted, requested, estimate, null, true, reasons);
        }

        var fit = (int)Math.Clamp((budget.Value - estimate.FixedBytes) / Math.Max(1, estimate.BytesPerImage), 0, int.MaxValue);
        var images = splittable ? Math.Clamp(fit, 1, wanted) : wanted;
        return new BatchPlan(images, requested, estimate, budget, estimate.PassBytes(images) <= budget.Value, reasons);
    }

    /// <summary>The slot's budget and how it was reached ("budget 1.3 GB of 8.1 GB free on cuda:0 / 2 slots").</summary>
    private (long? Budget, string Reasons) Budget()
    {
        var slots = Sizing.Slots;
        var limit = settings.Device.IsCuda && settings.CudaMemoryLimit > 0 ? settings.CudaMemoryLimit : (long?)null;
        var now = memory.Read(settings.Device);
        long? share = Start.Known ? (long)(Start.FreeBytes * Sizing.MemoryHeadroom / slots) : null;
        long? current = now.Known ? (long)(now.FreeBytes * Sizing.MemoryHeadroom) : null;
        long?[] candidates = [share, current, limit];
        var budget = candidates.Where(b => b is not null).Min();
        if (budget is null)
        {
            return (null, $"{Start}; no budget, so passes are not split by memory");
        }

        var reasons = Start.Known
            ? $"budget {DeviceMemoryReading.Bytes(budget.Value)} of {DeviceMemoryReading.Bytes(Start.FreeBytes)} free at start on {Start.Device} × {Sizing.MemoryHeadroom.ToString(CultureInfo.InvariantCulture)} / {slots} slot{(slots == 1 ? "" : "s")}"
            : $"budget {DeviceMemoryReading.Bytes(budget.Value)}; at start {Start}";
        if (current is not null && budget == current && current != share)
        {
            reasons += $", bound by {DeviceMemoryReading.Bytes(now.FreeBytes)} free now";
        }

        if (limit is not null && budget == limit)
        {
            reasons += $", bound by the CUDA arena limit of {DeviceMemoryReading.Bytes(limit.Value)}";
        }

        return (budget, reasons);
    }
}
