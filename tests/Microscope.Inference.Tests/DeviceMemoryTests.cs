using System.Runtime.InteropServices;

namespace Microscope.Inference.Tests;

/// <summary>Free memory of the CPU (this machine's) and of CUDA devices (absent here: the reading falls back with its reason).</summary>
public sealed class DeviceMemoryTests : IDisposable
{
    private readonly string folder = Path.Combine(Path.GetTempPath(), "microscope-memory-" + Guid.NewGuid().ToString("N")[..8]);

    public DeviceMemoryTests() => Directory.CreateDirectory(folder);

    public void Dispose() => Directory.Delete(folder, recursive: true);

    [Fact]
    public void The_cpu_reading_is_positive_and_at_most_the_total()
    {
        var reading = DeviceMemory.Default.Read(ExecutionDevice.Cpu);

        Assert.True(reading.Known, reading.Unknown);
        Assert.InRange(reading.FreeBytes, 1, reading.TotalBytes);
        Assert.Equal(ExecutionDevice.Cpu, reading.Device);
    }

    [Fact]
    public void A_cuda_reading_without_the_cuda_runtime_is_unknown_and_names_the_missing_library()
    {
        var reading = DeviceMemory.Default.Read(ExecutionDevice.Cuda(0));
        if (DeviceMemory.CudaRuntimeLibraries.Any(name => NativeLibrary.TryLoad(name, out _)))
        {
            // A machine with the CUDA runtime: a GPU's reading, or the runtime's own error (no device).
            Assert.True(reading.Known ? reading.FreeBytes <= reading.TotalBytes : reading.Unknown!.Contains("cuda", StringComparison.Ordinal), reading.ToString());
            return;
        }

        Assert.False(reading.Known);
        Assert.Contains("libcudart.so.13", reading.Unknown, StringComparison.Ordinal);
        Assert.Contains("memory of cuda:0 unknown", reading.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void The_cpu_budget_is_the_tighter_of_MemAvailable_and_the_cgroup_limit_less_its_usage()
    {
        File.WriteAllLines(Path.Combine(folder, "meminfo"), ["MemTotal:       16777216 kB", "MemFree:         1048576 kB", "MemAvailable:    8388608 kB"]);
        File.WriteAllText(Path.Combine(folder, "memory.max"), $"{4L << 30}\n");
        File.WriteAllText(Path.Combine(folder, "memory.current"), $"{3L << 30}\n");
        File.WriteAllLines(Path.Combine(folder, "memory.stat"), ["anon 1073741824", $"inactive_file {1L << 30}"]);

        var limited = new DeviceMemory(folder, folder).Read(ExecutionDevice.Cpu);

        // 4 GiB limit less 3 GiB used, of which 1 GiB is reclaimable page cache: 2 GiB, under MemAvailable's 8.
        Assert.Equal((2L << 30, 4L << 30, "cgroup memory.max"), (limited.FreeBytes, limited.TotalBytes, limited.Source));

        File.WriteAllText(Path.Combine(folder, "memory.max"), "max\n");
        var unlimited = new DeviceMemory(folder, folder).Read(ExecutionDevice.Cpu);
        Assert.Equal((8L << 30, 16L << 30, "MemAvailable"), (unlimited.FreeBytes, unlimited.TotalBytes, unlimited.Source));
    }

    [Fact]
    public void Without_meminfo_or_a_cgroup_limit_the_cpu_reading_is_the_gcs()
    {
        var reading = new DeviceMemory(folder, folder).Read(ExecutionDevice.Cpu);

        Assert.Equal("the GC's memory load", reading.Source);
        Assert.Equal(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes, reading.TotalBytes);
        Assert.InRange(reading.FreeBytes, 1, reading.TotalBytes);
    }
}
