using System.Globalization;
using Microscope.Onnx;

namespace Microscope.Inference;

/// <summary>Where a session runs: "cpu" or "cuda:N".</summary>
public sealed record ExecutionDevice(bool IsCuda, int Index)
{
    public static readonly ExecutionDevice Cpu = new(false, 0);

    public static ExecutionDevice Cuda(int index) => new(true, index);

    public static ExecutionDevice Parse(string text)
    {
        var value = text.Trim().ToLowerInvariant();
        if (value == "cpu")
        {
            return Cpu;
        }

        if (value == "cuda")
        {
            return Cuda(0);
        }

        if (value.StartsWith("cuda:", StringComparison.Ordinal) &&
            int.TryParse(value.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out var index))
        {
            return Cuda(index);
        }

        throw new ModelFormatException($"'{text}' is not a device; use cpu or cuda:N (cuda:0 for the first GPU).");
    }

    public override string ToString() => IsCuda ? $"cuda:{Index}" : "cpu";
}
