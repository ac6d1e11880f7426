using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Microscope.Testing;

namespace Microscope.Farm.FaultTests;

/// <summary>
/// A render silo asked for cuda:0 on a machine without the CUDA libraries (this one, and CI's):
/// one warning line naming the missing library and rendering on CPU, or, when configured to refuse,
/// no start at all with one critical line. Real ONNX Runtime and its real CUDA provider, no mocks.
/// </summary>
public sealed class RenderDeviceTests
{
    [Fact]
    public async Task Cuda_without_its_libraries_falls_back_to_cpu_with_one_line_or_refuses_to_start_as_configured()
    {
        var folder = Path.Combine(Path.GetTempPath(), "microscope-device-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var port = Azurite.FreePort();
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
            using (var fallback = SiloProcess.Start("fallback", Settings(folder, "fallback", port, "cpu")))
            {
                await fallback.WaitUntilAsync(async () => (await http.GetAsync("/healthz")).IsSuccessStatusCode, TimeSpan.FromMinutes(1), "health");
                var health = await http.GetFromJsonAsync<JsonElement>("/healthz");
                Assert.Equal("cpu", health.GetProperty("checks").GetProperty("render").GetProperty("data").GetProperty("device").GetString());
                var warning = Assert.Single(fallback.Output.Split('\n'), l => l.Contains("cuda:0 unavailable", StringComparison.Ordinal));
                Assert.Matches(@"lib[\w.+-]+\.so[\d.]* is missing|libonnxruntime_providers_cuda", warning);
                Assert.Contains("falling back to CPU", warning);
                await fallback.StopAsync(TimeSpan.FromSeconds(20));
            }

            using var refuse = SiloProcess.Start("refuse", Settings(folder, "refuse", Azurite.FreePort(), "refuse"));
            Assert.Equal(1, await refuse.ExitCodeAsync(TimeSpan.FromMinutes(1)));
            var critical = Assert.Single(refuse.Output.Split('\n'), l => l.Contains("refuses to start", StringComparison.Ordinal));
            Assert.Contains("Farm:Render:CudaFallback=refuse", critical);
            Assert.Contains("cuda:0 was asked for and is required", critical);
            Assert.DoesNotContain("Unhandled exception", refuse.Output);
        }
        finally
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }

    private static Dictionary<string, string> Settings(string folder, string name, int port, string fallback) => new()
    {
        ["Farm__Http__Url"] = $"http://127.0.0.1:{port}",
        ["Farm__Cluster__SiloPort"] = Azurite.FreePort().ToString(CultureInfo.InvariantCulture),
        ["Farm__Cluster__GatewayPort"] = Azurite.FreePort().ToString(CultureInfo.InvariantCulture),
        ["Farm__Store__Path"] = Path.Combine(folder, name),
        ["Farm__Role"] = "render",
        ["Farm__Render__Device"] = "cuda:0",
        ["Farm__Render__CudaFallback"] = fallback,
    };
}
