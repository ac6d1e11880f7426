namespace Microscope.Optvis;

/// <summary>
/// Where a render's randomness comes from. Image n's initial parameters are drawn from
/// (seed, key n) alone and the transform draws from the seed alone, so a unit's render never
/// depends on which other units shared its batch, nor on the batch size (which adapts to free
/// device memory): the same unit, options and seed give the same picture in any batch.
/// </summary>
public static class RenderSeeds
{
    /// <summary>The key of image <paramref name="index"/> of <paramref name="unit"/> (diversity renders several images of a unit).</summary>
    public static int Key(int unit, int index) => Mix(unit, index);

    /// <summary>The source of one image's initial parameters.</summary>
    public static Random Image(int seed, int key) => new(Mix(seed, key));

    /// <summary>The source of the per-step transform draws (one draw per step, shared by the batch).</summary>
    public static Random Transforms(int seed) => new(Mix(seed, int.MinValue));

    /// <summary>
    /// The source of the robustness check's transform draws, apart from the optimization's so that
    /// the check sees draws the image was not optimized on. The formula predates the others and is
    /// kept: every stored objectiveUnderTransforms figure was drawn from it.
    /// </summary>
    public static Random Robustness(int seed) => new(unchecked(seed * 7919) + 17);

    /// <summary>SplitMix64's finalizer over the pair: stable across processes and platforms (unlike HashCode).</summary>
    private static int Mix(int a, int b)
    {
        var z = ((ulong)(uint)a << 32) | (uint)b;
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return (int)(z ^ (z >> 32)) & int.MaxValue;
    }
}
