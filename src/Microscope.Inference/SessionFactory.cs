using System.Text.RegularExpressions;
using Microscope.Onnx;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.ML.OnnxRuntime;

namespace Microscope.Inference;

/// <summary>How sessions are made: device, threads and graph optimization, set once per process.</summary>
public sealed record SessionSettings
{
    public ExecutionDevice Device { get; init; } = ExecutionDevice.Cpu;

    /// <summary>When CUDA is asked for but cannot load: false falls back to CPU (with one log line), true refuses.</summary>
    public bool RequireDevice { get; init; }

    /// <summary>Threads for one op; 0 means one per core.</summary>
    public int IntraOpThreads { get; init; }

    public GraphOptimizationLevel OptimizationLevel { get; init; } = GraphOptimizationLevel.ORT_ENABLE_ALL;

    /// <summary>Bytes the CUDA memory arena may grow to; 0 means no limit.</summary>
    public long CudaMemoryLimit { get; init; }

    /// <summary>Which feature-visualization loop runs: Auto keeps the render's state on the device under CUDA and on the host on CPU.</summary>
    public RenderLoop Loop { get; init; } = RenderLoop.Auto;

    /// <summary>How large the catalog's probe run may be.</summary>
    public ProbeLimits Probe { get; init; } = ProbeLimits.Default;

    /// <summary>True when renders keep their state on the device (<see cref="RenderLoop"/>).</summary>
    public bool ResidentLoop => Loop == RenderLoop.Device || (Loop == RenderLoop.Auto && Device.IsCuda);
}

/// <summary>
/// Where feature visualization keeps its images, gradients and optimizer state between steps:
/// on the host (transforms and Adam in C#, the model's gradient graph on the session's device) or
/// on the device (one ONNX graph per step, its tensors bound in device memory).
/// </summary>
public enum RenderLoop
{
    Auto,
    Host,
    Device,
}

/// <summary>A session and the device it really runs on (which may differ from the one asked for).</summary>
public sealed class OnnxSession(InferenceSession session, ExecutionDevice device) : IDisposable
{
    public InferenceSession Session { get; } = session;

    public ExecutionDevice Device { get; } = device;

    private OrtMemoryInfo? deviceMemory;

    /// <summary>Where tensors that stay on the session's device live: CUDA memory of the GPU, or CPU memory.</summary>
    public OrtMemoryInfo DeviceMemory => deviceMemory ??= Device.IsCuda
        ? new OrtMemoryInfo(OrtMemoryInfo.allocatorCUDA, OrtAllocatorType.DeviceAllocator, Device.Index, OrtMemType.Default)
        : OrtMemoryInfo.DefaultInstance;

    public void Dispose()
    {
        if (Device.IsCuda)
        {
            deviceMemory?.Dispose();
        }

        Session.Dispose();
    }
}

/// <summary>
/// The one place where ONNX Runtime sessions are created and native errors are turned into messages
/// a user can act on.
/// </summary>
public sealed partial class SessionFactory(SessionSettings settings, ILogger? logger = null)
{
    private readonly ILogger logger = logger ?? NullLogger.Instance;
    private string? cudaUnavailable;

    public SessionSettings Settings { get; } = settings;

    public OnnxSession Create(byte[] model, string source)
    {
        var device = Settings.Device;
        var options = NewOptions();
        if (device.IsCuda)
        {
            if (!TryAppendCuda(options, device))
            {
                options.Dispose();
                options = NewOptions();
                device = ExecutionDevice.Cpu;
            }
        }

        try
        {
            return new OnnxSession(new InferenceSession(model, options), device);
        }
        catch (OnnxRuntimeException ex)
        {
            throw new ModelFormatException($"{source}: ONNX Runtime cannot load the model: {FirstLine(ex.Message)}", ex);
        }
        finally
        {
            options.Dispose();
        }
    }

    private SessionOptions NewOptions()
    {
        var options = new SessionOptions
        {
            GraphOptimizationLevel = Settings.OptimizationLevel,
            IntraOpNumThreads = Settings.IntraOpThreads > 0 ? Settings.IntraOpThreads : Environment.ProcessorCount,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
        };
        return options;
    }

    private bool TryAppendCuda(SessionOptions options, ExecutionDevice device)
    {
        if (cudaUnavailable is not null)
        {
            return Fallback(device, cudaUnavailable, logAgain: false);
        }

        try
        {
            using var cuda = new OrtCUDAProviderOptions();
            var values = new Dictionary<string, string> { ["device_id"] = device.Index.ToString(System.Globalization.CultureInfo.InvariantCulture) };
            if (Settings.CudaMemoryLimit > 0)
            {
                values["gpu_mem_limit"] = Settings.CudaMemoryLimit.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            values["arena_extend_strategy"] = "kSameAsRequested";
            cuda.UpdateOptions(values);
            options.AppendExecutionProvider_CUDA(cuda);
            return true;
        }
        catch (Exception ex) when (ex is OnnxRuntimeException or DllNotFoundException or EntryPointNotFoundException)
        {
            cudaUnavailable = DescribeCudaFailure(ex.Message);
            return Fallback(device, cudaUnavailable, logAgain: true);
        }
    }

    private bool Fallback(ExecutionDevice device, string reason, bool logAgain)
    {
        if (Settings.RequireDevice)
        {
            throw new DeviceUnavailableException($"{device} was asked for and is required, but {reason}.");
        }

        if (logAgain)
        {
            logger.LogWarning("{Device} unavailable: {Reason}; falling back to CPU.", device, reason);
        }

        return false;
    }

    /// <summary>Names the missing library where ONNX Runtime's message does ("libcublasLt.so.13 is missing").</summary>
    internal static string DescribeCudaFailure(string message)
    {
        var library = MissingLibrary().Match(message);
        if (library.Success)
        {
            return $"{library.Groups[1].Value} is missing (the CUDA provider needs CUDA 13 and cuDNN 9)";
        }

        if (message.Contains("libonnxruntime_providers_cuda", StringComparison.Ordinal))
        {
            return "the ONNX Runtime CUDA provider library (libonnxruntime_providers_cuda.so) is not installed beside the program";
        }

        return "the CUDA provider failed to load: " + FirstLine(message);
    }

    private static string FirstLine(string message) => message.Split('\n', 2)[0].Trim();

    [GeneratedRegex(@"(lib[\w\-.+]+\.so(?:\.\d+)*)\s*:\s*cannot open shared object file")]
    private static partial Regex MissingLibrary();
}

/// <summary>The configured device cannot be used and falling back was not allowed.</summary>
public sealed class DeviceUnavailableException(string message) : Exception(message);
