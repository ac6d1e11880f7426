using Microscope.Inference;
using Microscope.Lenses;

namespace Microscope.Lenses.Tests;

/// <summary>Images per pass from a slot's share of the device's memory and the estimate of a pass.</summary>
public sealed class BatchSizerTests
{
    /// <summary>A layer whose images are large beside its weights (about 100 MB per image, 400 MB per pass).</summary>
    private static readonly RenderMemory Estimate = new(WeightBytes: 100L << 20, ForwardElements: 10_000_000, LoopElements: 1_000_000);

    private static readonly SessionSettings Cpu = new();

    /// <summary>Free bytes at which a slot of <paramref name="slots"/> with headroom <paramref name="headroom"/> fits <paramref name="images"/> and a half.</summary>
    private static long FreeFor(double images, int slots = 1, double headroom = 0.8) =>
        (long)((Estimate.FixedBytes + (images * Estimate.BytesPerImage)) * slots / headroom);

    private static BatchSizer Sizer(long? free, SessionSettings? settings = null, int slots = 1, int? maxBatch = null) =>
        new(new FixedDeviceMemory(64L << 30, free), settings ?? Cpu, new BatchSizing { Slots = slots, MaxBatch = maxBatch });

    [Fact]
    public void A_slot_gets_as_many_images_as_fit_its_share_of_the_headroom()
    {
        var plan = Sizer(FreeFor(3.5, slots: 2), slots: 2).Plan(Estimate, requested: 8);

        Assert.Equal(3, plan.ImagesPerPass);
        Assert.True(plan.Fits);
        Assert.InRange(Estimate.PassBytes(3), 0, plan.BudgetBytes!.Value);
        Assert.True(Estimate.PassBytes(4) > plan.BudgetBytes);
        Assert.Contains("3 images per pass of 8", plan.ToString(), StringComparison.Ordinal);
        Assert.Contains("/ 2 slots", plan.ToString(), StringComparison.Ordinal);

        // The same memory for one slot: twice the budget, and the fixed part paid once.
        Assert.True(Sizer(FreeFor(3.5, slots: 2)).Plan(Estimate, requested: 16).ImagesPerPass >= 7);
    }

    [Fact]
    public void Never_more_than_asked_for_nor_than_the_cap_nor_fewer_than_one()
    {
        Assert.Equal(5, Sizer(FreeFor(100)).Plan(Estimate, requested: 5).ImagesPerPass);
        Assert.Equal(4, Sizer(FreeFor(100), maxBatch: 4).Plan(Estimate, requested: 5).ImagesPerPass);

        var starved = Sizer(1 << 20).Plan(Estimate, requested: 5);
        Assert.Equal(1, starved.ImagesPerPass);
        Assert.False(starved.Fits);
    }

    [Fact]
    public void A_diversity_units_images_are_never_split_nor_capped()
    {
        var plan = Sizer(FreeFor(1.5), maxBatch: 2).Plan(Estimate, requested: 4, splittable: false);

        Assert.Equal(4, plan.ImagesPerPass);
        Assert.False(plan.Fits);
        Assert.True(Sizer(FreeFor(4.5)).Plan(Estimate, requested: 4, splittable: false).Fits);
    }

    [Fact]
    public void The_cuda_arena_limit_caps_a_slots_budget_on_cuda_only()
    {
        var limit = Estimate.PassBytes(2) + (Estimate.BytesPerImage / 2);
        var cuda = new SessionSettings { Device = ExecutionDevice.Cuda(0), CudaMemoryLimit = limit };

        var capped = Sizer(FreeFor(10), cuda).Plan(Estimate, requested: 8);
        Assert.Equal(2, capped.ImagesPerPass);
        Assert.Equal(limit, capped.BudgetBytes);
        Assert.Contains("CUDA arena limit", capped.ToString(), StringComparison.Ordinal);

        Assert.Equal(8, Sizer(FreeFor(10), Cpu with { CudaMemoryLimit = limit }).Plan(Estimate, requested: 8).ImagesPerPass);
    }

    [Fact]
    public void The_share_comes_from_the_start_and_shrinks_when_less_is_free_now()
    {
        // Read at start: room for 6; later the device has room for 2 (something else took memory).
        var memory = new FixedDeviceMemory(64L << 30, FreeFor(6.5), FreeFor(6.5), FreeFor(2.5));
        var sizer = new BatchSizer(memory, Cpu, new BatchSizing());
        Assert.Equal(1, memory.Reads);

        Assert.Equal(6, sizer.Plan(Estimate, requested: 8).ImagesPerPass);
        var later = sizer.Plan(Estimate, requested: 8);
        Assert.Equal(2, later.ImagesPerPass);
        Assert.Contains("free now", later.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_memory_renders_what_was_asked_for_in_one_pass_unless_capped()
    {
        var plan = Sizer(null).Plan(Estimate, requested: 6);
        Assert.Equal(6, plan.ImagesPerPass);
        Assert.Null(plan.BudgetBytes);
        Assert.Contains("unknown", plan.ToString(), StringComparison.Ordinal);

        Assert.Equal(3, Sizer(null, maxBatch: 3).Plan(Estimate, requested: 6).ImagesPerPass);
        var limited = new SessionSettings { Device = ExecutionDevice.Cuda(0), CudaMemoryLimit = Estimate.PassBytes(2) };
        Assert.Equal(2, Sizer(null, limited).Plan(Estimate, requested: 6).ImagesPerPass);
    }

    [Theory]
    [InlineData(0.0, null, 1, "MemoryHeadroom")]
    [InlineData(1.5, null, 1, "MemoryHeadroom")]
    [InlineData(0.8, 0, 1, "MaxBatch")]
    [InlineData(0.8, null, 0, "Slots")]
    public void Bad_settings_are_refused_with_the_setting_named(double headroom, int? maxBatch, int slots, string setting)
    {
        var sizing = new BatchSizing { MemoryHeadroom = headroom, MaxBatch = maxBatch, Slots = slots };

        Assert.StartsWith($"Farm:Render:{setting} must", sizing.Problem("Farm:Render:"), StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new BatchSizer(new FixedDeviceMemory(1, 1), Cpu, sizing));
        Assert.Null(new BatchSizing().Problem());
    }
}
