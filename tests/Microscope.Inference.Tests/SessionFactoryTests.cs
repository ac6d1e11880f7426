using Microscope.Onnx;
using Microscope.Testing;
using Microsoft.Extensions.Logging;

namespace Microscope.Inference.Tests;

public sealed class SessionFactoryTests
{
    private static byte[] Model() => OnnxModelFile.ToBytes(TinyModel.SmallCnn());

    [Fact]
    public void Cuda_without_its_libraries_falls_back_to_cpu_with_one_log_line()
    {
        // Test outputs do not carry the CUDA provider library, and this machine has no CUDA.
        var logger = new CapturingLogger();
        var factory = new SessionFactory(new SessionSettings { Device = ExecutionDevice.Cuda(0) }, logger);

        using var first = factory.Create(Model(), "small");
        using var second = factory.Create(Model(), "small");

        Assert.Equal(ExecutionDevice.Cpu, first.Device);
        Assert.Equal(ExecutionDevice.Cpu, second.Device);
        var line = Assert.Single(logger.Lines);
        Assert.Equal(LogLevel.Warning, line.Level);
        Assert.Contains("cuda:0 unavailable", line.Message);
        Assert.Contains("falling back to CPU", line.Message);
        Assert.Contains("libonnxruntime_providers_cuda", line.Message);
    }

    [Fact]
    public void Cuda_required_but_unavailable_is_refused()
    {
        var factory = new SessionFactory(new SessionSettings { Device = ExecutionDevice.Cuda(1), RequireDevice = true });

        var error = Assert.Throws<DeviceUnavailableException>(() => factory.Create(Model(), "small"));
        Assert.Contains("cuda:1", error.Message);
    }

    [Theory]
    [InlineData("libcublasLt.so.13: cannot open shared object file: No such file or directory", "libcublasLt.so.13 is missing")]
    [InlineData("Failed to load library libonnxruntime_providers_cuda.so with error: libcudnn.so.9: cannot open shared object file", "libcudnn.so.9 is missing")]
    [InlineData("something else entirely", "the CUDA provider failed to load: something else entirely")]
    public void Cuda_failures_name_the_missing_library(string message, string expected) =>
        Assert.StartsWith(expected, SessionFactory.DescribeCudaFailure(message));

    [Theory]
    [InlineData("cpu", false, 0)]
    [InlineData("CPU", false, 0)]
    [InlineData("cuda", true, 0)]
    [InlineData("cuda:3", true, 3)]
    public void Devices_parse(string text, bool cuda, int index)
    {
        var device = ExecutionDevice.Parse(text);
        Assert.Equal(cuda, device.IsCuda);
        Assert.Equal(index, device.Index);
    }

    [Theory]
    [InlineData("gpu")]
    [InlineData("cuda:")]
    [InlineData("cuda:-1")]
    [InlineData("cuda:x")]
    public void Bad_devices_are_refused(string text) =>
        Assert.Contains(text, Assert.Throws<ModelFormatException>(() => ExecutionDevice.Parse(text)).Message);

    [Fact]
    public void A_model_onnx_runtime_cannot_load_is_a_clear_error()
    {
        var m = new TinyModel();
        var x = m.Input("x", 1, 3, 4, 4);
        m.Output(m.Op("NoSuchOp", x));

        var error = Assert.Throws<ModelFormatException>(() => new SessionFactory(new SessionSettings()).Create(OnnxModelFile.ToBytes(m.Build()), "odd.onnx"));
        Assert.Contains("odd.onnx", error.Message);
        Assert.Contains("NoSuchOp", error.Message);
    }
}
