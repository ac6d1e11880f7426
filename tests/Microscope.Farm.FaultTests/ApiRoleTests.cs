using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microscope.Testing;

namespace Microscope.Farm.FaultTests;

/// <summary>
/// A farm of two processes, an api silo and a render silo (localhost clustering, one store folder):
/// uploads and the configured organism are catalogued by the render silo, which alone loads ONNX
/// Runtime; the api process never maps it (read from /proc/&lt;pid&gt;/maps).
/// </summary>
public sealed class ApiRoleTests : IAsyncLifetime
{
    private readonly string folder = Path.Combine(Path.GetTempPath(), "microscope-apirole-" + Guid.NewGuid().ToString("N")[..8]);
    private SiloProcess api = null!;
    private SiloProcess render = null!;
    private HttpClient http = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(folder);
        var model = Path.Combine(folder, "small.onnx");
        File.WriteAllBytes(model, Onnx.OnnxModelFile.ToBytes(TinyModel.SmallCnn(size: 32)));
        var port = Azurite.FreePort();
        var primary = Azurite.FreePort();
        http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
        Dictionary<string, string> Silo(string role, int siloPort, int httpPort) => new()
        {
            ["Farm__Role"] = role,
            ["Farm__Http__Url"] = $"http://127.0.0.1:{httpPort}",
            ["Farm__Cluster__SiloPort"] = siloPort.ToString(CultureInfo.InvariantCulture),
            ["Farm__Cluster__GatewayPort"] = Azurite.FreePort().ToString(CultureInfo.InvariantCulture),
            ["Farm__Cluster__PrimarySiloPort"] = primary.ToString(CultureInfo.InvariantCulture),
            ["Farm__Store__Path"] = Path.Combine(folder, "farm-data"),
            ["Farm__Organisms__0"] = model,
            ["Farm__DefaultJob__Enabled"] = "false",
            ["Farm__Render__PollInterval"] = "00:00:00.100",
            ["Farm__Render__MaxPollInterval"] = "00:00:00.300",
        };
        api = SiloProcess.Start("api", Silo("api", primary, port));
        render = SiloProcess.Start("render", Silo("render", Azurite.FreePort(), Azurite.FreePort()));
        await api.WaitUntilAsync(async () => (await http.GetAsync("/api/models/small")).IsSuccessStatusCode, TimeSpan.FromMinutes(3), "the organism catalogued by the render silo");
    }

    public async Task DisposeAsync()
    {
        await api.StopAsync(TimeSpan.FromSeconds(20));
        await render.StopAsync(TimeSpan.FromSeconds(20));
        api.Dispose();
        render.Dispose();
        http.Dispose();
        Directory.Delete(folder, recursive: true);
    }

    [Fact]
    public async Task Uploads_are_catalogued_by_the_render_silo_and_the_api_process_never_loads_onnx_runtime()
    {
        using var content = new MultipartFormDataContent { { new ByteArrayContent(Onnx.OnnxModelFile.ToBytes(TinyModel.SmallCnn(size: 24))), "model", "second.onnx" } };
        using var accepted = await http.PostAsync("/api/models", content);
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        Assert.Equal("Pending", JsonDocument.Parse(await accepted.Content.ReadAsStringAsync()).RootElement.GetProperty("state").GetString());
        var model = await Intake.RegisteredAsync(http, accepted);
        Assert.Equal(8, model.GetProperty("layers").GetArrayLength());

        // A file that is not ONNX is refused by the request itself, at once.
        using var junk = new MultipartFormDataContent { { new ByteArrayContent("not a model"u8.ToArray()), "model", "junk.onnx" } };
        Assert.Equal(HttpStatusCode.BadRequest, (await http.PostAsync("/api/models", junk)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/api/models/junk/status")).StatusCode);

        // The render silo ran two catalogs with ONNX Runtime; the api process, which took both models in, never mapped it.
        Assert.Contains(render.MappedFiles(), f => f.Contains("onnxruntime", StringComparison.OrdinalIgnoreCase));
        var mapped = api.MappedFiles();
        Assert.Contains(mapped, f => f.Contains("Microscope.Farm.Api.dll", StringComparison.Ordinal));
        // Neither the managed Microsoft.ML.OnnxRuntime.dll nor the native libonnxruntime.so. (The host's Orleans scan of its
        // referenced assemblies maps Microscope.Farm.Rendering.dll and Microscope.Inference.dll, but runs none of their code.)
        var engine = mapped.Where(f => f.Contains("onnxruntime", StringComparison.OrdinalIgnoreCase)).ToList();
        Assert.True(engine.Count == 0, "the api process mapped " + string.Join(", ", engine) + "; its Microscope assemblies: "
            + string.Join(", ", mapped.Where(f => f.Contains("/Microscope.", StringComparison.Ordinal)).Select(Path.GetFileName)));
    }
}
