using System.Globalization;
using Microscope.Onnx;

namespace Microscope.Inference;

/// <summary>
/// How large a catalog probe run may be (Farm:Catalog:MaxProbePixels, Farm:Catalog:MaxProbeMegabytes).
/// The catalog measures layer shapes by running the model once at its declared input size, with every
/// candidate layer made an output; a 635-byte model declaring a 4096×4096 input took 2 GB of the
/// server's memory that way, and 100000×100000 overflowed. The size and a memory estimate are
/// checked before anything runs, with checked arithmetic, and a model past either is refused with
/// a message that names the setting.
/// </summary>
public sealed record ProbeLimits
{
    /// <summary>
    /// Height × width of the probe image: 1024×1024 by default, which covers the sizes resnet-class
    /// models are run at (224 to 640 pixels) with room to spare.
    /// </summary>
    public long MaxProbePixels { get; init; } = 1024 * 1024;

    /// <summary>Memory the probe run may take by the estimate of <see cref="EstimateBytes"/>: 4 GiB by default.</summary>
    public long MaxProbeMegabytes { get; init; } = 4096;

    public static ProbeLimits Default { get; } = new();

    /// <summary>
    /// Floats per input pixel that one candidate layer holds, on average, in resnet-class networks:
    /// conv1 of resnet18 has 64 channels at stride 2 (16 per pixel), layer1 64 at stride 4 (4), layer4
    /// 512 at stride 32 (0.5). Four is an upper average over their layers.
    /// </summary>
    public const int FloatsPerPixelPerLayer = 4;

    /// <summary>
    /// Bytes a probe of <paramref name="layers"/> candidate layers at height×width takes, roughly: the
    /// image and every layer output in float32, twice (ONNX Runtime's own buffers and the outputs handed back).
    /// </summary>
    public static long EstimateBytes(long height, long width, int layers) =>
        checked(2 * sizeof(float) * height * width * (3 + (long)layers * FloatsPerPixelPerLayer));

    /// <summary>The limits as configured, or what is wrong with them (a host stops at start with this message).</summary>
    public ProbeLimits Validate() =>
        MaxProbePixels >= 1 && MaxProbeMegabytes is >= 1 and <= long.MaxValue >> 20 ? this
        : throw new InvalidOperationException($"Farm:Catalog:MaxProbePixels ({MaxProbePixels}) and Farm:Catalog:MaxProbeMegabytes ({MaxProbeMegabytes}) must be positive.");

    /// <summary>Refuses, with what to change, a probe past the limits; returns the estimate otherwise.</summary>
    public long Check(long height, long width, int layers, string source)
    {
        if (height < 1 || width < 1)
        {
            throw new ModelFormatException($"{source}: the input size {height}×{width} is not an image size.");
        }

        var side = (long)Math.Sqrt(MaxProbePixels);
        if (height > MaxProbePixels / width)
        {
            throw new ModelFormatException(string.Create(CultureInfo.InvariantCulture,
                $"{source}: the model's input is {height}×{width} pixels, more than the catalog probes (Farm:Catalog:MaxProbePixels = {MaxProbePixels}, about {side}×{side}); give the manifest a smaller input size, or raise the setting."));
        }

        long estimate;
        try
        {
            estimate = EstimateBytes(height, width, layers);
        }
        catch (OverflowException)
        {
            estimate = long.MaxValue;
        }

        if (estimate > MaxProbeMegabytes << 20)
        {
            throw new ModelFormatException(string.Create(CultureInfo.InvariantCulture,
                $"{source}: measuring {layers} layers at {height}×{width} would take about {estimate >> 20} MB, more than Farm:Catalog:MaxProbeMegabytes = {MaxProbeMegabytes}; give the manifest a smaller input size, hide layers, or raise the setting."));
        }

        return estimate;
    }
}
