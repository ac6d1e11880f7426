using System.Globalization;
using System.Runtime.InteropServices;

namespace Microscope.Inference;

/// <summary>
/// A device's memory at one moment: free and total bytes, or unknown with the reason. Where it came
/// from (<see cref="Source"/>) is written out so that a log line of a batch decision can be checked.
/// </summary>
public sealed record DeviceMemoryReading(ExecutionDevice Device, long FreeBytes, long TotalBytes, string Source, string? Unknown = null)
{
    public bool Known => Unknown is null;

    public static DeviceMemoryReading Unavailable(ExecutionDevice device, string reason) => new(device, 0, 0, "unknown", reason);

    public override string ToString() => Known
        ? $"{Bytes(FreeBytes)} of {Bytes(TotalBytes)} free on {Device} ({Source})"
        : $"memory of {Device} unknown: {Unknown}";

    /// <summary>Bytes as MB or GB with one decimal (1 MB = 2^20 bytes), for log lines.</summary>
    public static string Bytes(long bytes) => bytes >= 1L << 30
        ? (bytes / (double)(1L << 30)).ToString("0.0", CultureInfo.InvariantCulture) + " GB"
        : (bytes / (double)(1L << 20)).ToString("0", CultureInfo.InvariantCulture) + " MB";
}

/// <summary>Reads a device's free memory; tests supply fixed readings, the farm uses <see cref="DeviceMemory"/>.</summary>
public interface IDeviceMemory
{
    /// <summary>Never throws: what cannot be read is a reading with <see cref="DeviceMemoryReading.Unknown"/> set.</summary>
    DeviceMemoryReading Read(ExecutionDevice device);
}

/// <summary>
/// The real reading. CUDA: <c>cudaMemGetInfo</c> of the CUDA runtime, which counts what every process
/// and every ONNX Runtime arena has already reserved as used. CPU: the process's budget, the smaller
/// of the kernel's MemAvailable and the cgroup v2 limit less the cgroup's usage (without its
/// inactive page cache, which the kernel reclaims before it kills), so a container's limit counts
/// and not the node's memory; where neither file exists, the GC's view of available memory.
/// </summary>
/// <param name="procFolder">Where /proc is (tests point it at a folder of their own files).</param>
/// <param name="cgroupFolder">Where the process's cgroup v2 files are.</param>
public sealed class DeviceMemory(string procFolder = "/proc", string cgroupFolder = "/sys/fs/cgroup") : IDeviceMemory
{
    /// <summary>The CUDA runtime's file names, newest first: CUDA 13 (what the ONNX Runtime CUDA provider needs), then any.</summary>
    public static readonly IReadOnlyList<string> CudaRuntimeLibraries = ["libcudart.so.13", "libcudart.so"];

    public static DeviceMemory Default { get; } = new();

    public DeviceMemoryReading Read(ExecutionDevice device) => device.IsCuda ? Cuda(device) : Cpu(device);

    private DeviceMemoryReading Cpu(ExecutionDevice device)
    {
        (long Free, long Total, string Source)?[] limits = [MemInfo(), Cgroup()];
        var known = limits.OfType<(long Free, long Total, string Source)>().ToList();
        if (known.Count > 0)
        {
            var tightest = known.MinBy(l => l.Free);
            return new(device, tightest.Free, known.Min(l => l.Total), tightest.Source);
        }

        var gc = GC.GetGCMemoryInfo();
        return gc.TotalAvailableMemoryBytes > 0
            ? new(device, Math.Max(0, gc.TotalAvailableMemoryBytes - gc.MemoryLoadBytes), gc.TotalAvailableMemoryBytes, "the GC's memory load")
            : DeviceMemoryReading.Unavailable(device, $"neither {procFolder}/meminfo nor {cgroupFolder}/memory.max could be read and the GC reports no limit");
    }

    /// <summary>(MemAvailable, MemTotal) in bytes, or null.</summary>
    private (long Free, long Total, string Source)? MemInfo()
    {
        var lines = ReadLines(Path.Combine(procFolder, "meminfo"));
        var available = Kilobytes(lines, "MemAvailable:");
        var total = Kilobytes(lines, "MemTotal:");
        return available is null || total is null ? null : (available.Value * 1024, total.Value * 1024, "MemAvailable");
    }

    /// <summary>(limit − usage, limit) in bytes of the cgroup, or null when it has no limit ("max") or no files.</summary>
    private (long Free, long Total, string Source)? Cgroup()
    {
        var max = ReadLines(Path.Combine(cgroupFolder, "memory.max")).FirstOrDefault()?.Trim();
        var current = ReadLines(Path.Combine(cgroupFolder, "memory.current")).FirstOrDefault()?.Trim();
        if (max is null or "max" || current is null
            || !long.TryParse(max, NumberStyles.None, CultureInfo.InvariantCulture, out var limit)
            || !long.TryParse(current, NumberStyles.None, CultureInfo.InvariantCulture, out var usage))
        {
            return null;
        }

        var inactiveFile = ReadLines(Path.Combine(cgroupFolder, "memory.stat"))
            .Select(l => l.Split(' ', 2))
            .Where(p => p.Length == 2 && p[0] == "inactive_file" && long.TryParse(p[1], NumberStyles.None, CultureInfo.InvariantCulture, out _))
            .Select(p => long.Parse(p[1], CultureInfo.InvariantCulture)).FirstOrDefault();
        return (Math.Max(0, limit - Math.Max(0, usage - inactiveFile)), limit, "cgroup memory.max");
    }

    private static long? Kilobytes(IEnumerable<string> lines, string key) => lines
        .Where(l => l.StartsWith(key, StringComparison.Ordinal))
        .Select(l => long.TryParse(l[key.Length..].Trim().Split(' ')[0], NumberStyles.None, CultureInfo.InvariantCulture, out var kb) ? kb : (long?)null)
        .FirstOrDefault();

    private static string[] ReadLines(string path)
    {
        try
        {
            return File.ReadAllLines(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    /// <summary>
    /// cudaSetDevice then cudaMemGetInfo through the first CUDA runtime that loads. cudaSetDevice
    /// makes the device current on the calling thread and creates its primary context if there is
    /// none yet: the same context ONNX Runtime's CUDA provider uses, so reading costs no second one.
    /// </summary>
    private static DeviceMemoryReading Cuda(ExecutionDevice device)
    {
        var handle = IntPtr.Zero;
        string? loaded = null;
        foreach (var name in CudaRuntimeLibraries)
        {
            if (NativeLibrary.TryLoad(name, out handle))
            {
                loaded = name;
                break;
            }
        }

        if (loaded is null)
        {
            return DeviceMemoryReading.Unavailable(device, $"the CUDA runtime is not installed ({string.Join(" and ", CudaRuntimeLibraries)} cannot be loaded)");
        }

        try
        {
            var setDevice = Marshal.GetDelegateForFunctionPointer<CudaSetDevice>(NativeLibrary.GetExport(handle, "cudaSetDevice"));
            var memGetInfo = Marshal.GetDelegateForFunctionPointer<CudaMemGetInfo>(NativeLibrary.GetExport(handle, "cudaMemGetInfo"));
            var status = setDevice(device.Index);
            if (status != 0)
            {
                return DeviceMemoryReading.Unavailable(device, $"cudaSetDevice({device.Index}) failed: {CudaError(handle, status)}");
            }

            status = memGetInfo(out var free, out var total);
            return status == 0
                ? new(device, (long)free, (long)total, "cudaMemGetInfo")
                : DeviceMemoryReading.Unavailable(device, $"cudaMemGetInfo failed: {CudaError(handle, status)}");
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            return DeviceMemoryReading.Unavailable(device, $"{loaded} lacks cudaSetDevice or cudaMemGetInfo ({e.Message})");
        }
    }

    /// <summary>"error 100 (no CUDA-capable device is detected)", with the runtime's own words where it has them.</summary>
    private static string CudaError(IntPtr handle, int status)
    {
        if (NativeLibrary.TryGetExport(handle, "cudaGetErrorString", out var export))
        {
            var text = Marshal.PtrToStringAnsi(Marshal.GetDelegateForFunctionPointer<CudaGetErrorString>(export)(status));
            return $"error {status} ({text})";
        }

        return $"error {status}";
    }

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int CudaSetDevice(int device);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int CudaMemGetInfo(out nuint free, out nuint total);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate IntPtr CudaGetErrorString(int error);
}
