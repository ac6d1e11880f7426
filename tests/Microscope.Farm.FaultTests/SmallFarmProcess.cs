using System.Globalization;
using Microscope.Testing;

namespace Microscope.Farm.FaultTests;

/// <summary>
/// One farm process as ./run.sh starts it (role all, localhost clustering, files in a temporary
/// folder) with the small test model registered from a file, on free ports, plus the test's own
/// settings: the host of the embedded and keyed farm fixtures.
/// </summary>
internal sealed class SmallFarmProcess : IAsyncDisposable
{
    private readonly string folder;

    private SmallFarmProcess(string folder, SiloProcess silo, HttpClient http)
    {
        this.folder = folder;
        Silo = silo;
        Http = http;
    }

    public SiloProcess Silo { get; }

    public HttpClient Http { get; }

    /// <param name="settings">Environment variables on top of the defaults (which they may replace).</param>
    public static SmallFarmProcess Start(string name, IReadOnlyDictionary<string, string> settings)
    {
        var folder = Path.Combine(Path.GetTempPath(), $"microscope-{name}-{Guid.NewGuid().ToString("N")[..8]}");
        Directory.CreateDirectory(folder);
        var model = Path.Combine(folder, "small.onnx");
        File.WriteAllBytes(model, Onnx.OnnxModelFile.ToBytes(TinyModel.SmallCnn(size: 32)));
        var port = Azurite.FreePort();
        var environment = new Dictionary<string, string>
        {
            ["Farm__Http__Url"] = $"http://127.0.0.1:{port}",
            ["Farm__Cluster__SiloPort"] = Azurite.FreePort().ToString(CultureInfo.InvariantCulture),
            ["Farm__Cluster__GatewayPort"] = Azurite.FreePort().ToString(CultureInfo.InvariantCulture),
            ["Farm__Store__Path"] = Path.Combine(folder, "farm-data"),
            ["Farm__Organisms__0"] = model,
        };
        foreach (var (key, value) in settings)
        {
            environment[key] = value;
        }

        var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
        return new SmallFarmProcess(folder, SiloProcess.Start(name, environment), http);
    }

    public async ValueTask DisposeAsync()
    {
        await Silo.StopAsync(TimeSpan.FromSeconds(20));
        Silo.Dispose();
        Http.Dispose();
        Directory.Delete(folder, recursive: true);
    }
}
