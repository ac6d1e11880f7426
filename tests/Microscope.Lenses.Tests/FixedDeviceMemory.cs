using Microscope.Inference;

namespace Microscope.Lenses.Tests;

/// <summary>
/// Device memory as a test says it is: there is no GPU to read here, and a CPU's free memory moves.
/// Each read takes the next of <paramref name="free"/> (the last one repeats); null reads as unknown.
/// </summary>
internal sealed class FixedDeviceMemory(long total, params long?[] free) : IDeviceMemory
{
    private int reads;

    public int Reads => reads;

    public DeviceMemoryReading Read(ExecutionDevice device)
    {
        var next = free[Math.Min(Interlocked.Increment(ref reads) - 1, free.Length - 1)];
        return next is { } bytes ? new(device, bytes, total, "a test") : DeviceMemoryReading.Unavailable(device, "a test says so");
    }
}
