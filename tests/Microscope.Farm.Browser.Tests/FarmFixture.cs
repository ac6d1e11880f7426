using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microscope.Testing;
using Microsoft.Playwright;

namespace Microscope.Farm.Browser.Tests;

/// <summary>
/// The embedded farm as ./run.sh starts it, as a real process, on a tiny model whose default job
/// renders a few lenses of every layer; and one headless Chromium (Debian's, driven by Playwright)
/// for every test of the class. Started once: the job takes a few seconds on two cores.
/// </summary>
public sealed class FarmFixture : IAsyncLifetime
{
    public const string ChromiumPath = "/usr/bin/chromium";

    private readonly string folder = Path.Combine(Path.GetTempPath(), "microscope-browser-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly StringBuilder output = new();
    private Process? farm;
    private IPlaywright? playwright;

    public Uri BaseAddress { get; private set; } = null!;

    public HttpClient Http { get; private set; } = null!;

    public IBrowser Browser { get; private set; } = null!;

    /// <summary>The layers of the tiny model in graph order, and the one the tests browse (the default job renders it and Relu_4).</summary>
    public IReadOnlyList<string> Layers { get; private set; } = [];

    public string Layer { get; private set; } = "";

    /// <summary>The held model with the most layers (72): the graph view's render time is measured on it.</summary>
    public const string LargestModel = "ppocr-det";

    /// <summary>The tiny model as an .onnx file: what the farm registers at start, and what the upload test sends.</summary>
    public byte[] ModelBytes { get; } = Onnx.OnnxModelFile.ToBytes(TinyModel.SmallCnn(size: 32));

    /// <summary>Where the tests leave their screenshots (test artifacts; the docs' pictures come from here).</summary>
    public string Screenshots { get; } = Environment.GetEnvironmentVariable("MICROSCOPE_SCREENSHOTS") is { Length: > 0 } dir ? dir : Path.Combine(AppContext.BaseDirectory, "screenshots");

    public string Output
    {
        get
        {
            lock (output)
            {
                return output.ToString();
            }
        }
    }

    public async Task InitializeAsync()
    {
        Assert.True(File.Exists(ChromiumPath), $"the browser tests need Debian's Chromium at {ChromiumPath}: run ./test.sh, which installs it (apt-get install -y chromium).");
        Directory.CreateDirectory(folder);
        Directory.CreateDirectory(Screenshots);
        var model = Path.Combine(folder, "small.onnx");
        File.WriteAllBytes(model, ModelBytes);
        var port = Azurite.FreePort();
        BaseAddress = new Uri($"http://127.0.0.1:{port}");
        Http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        farm = StartFarm(new Dictionary<string, string>
        {
            ["Farm__Http__Url"] = BaseAddress.ToString().TrimEnd('/'),
            ["Farm__Cluster__SiloPort"] = Azurite.FreePort().ToString(CultureInfo.InvariantCulture),
            ["Farm__Cluster__GatewayPort"] = Azurite.FreePort().ToString(CultureInfo.InvariantCulture),
            ["Farm__Store__Path"] = Path.Combine(folder, "farm-data"),
            ["Farm__Organisms__0"] = model,

            // The largest built-in organism, for the graph view's render time; nothing of it is rendered.
            ["Farm__Organisms__1"] = LargestModel,
            ["Farm__DefaultJob__Model"] = "small",
            ["Farm__DefaultJob__Layers__0"] = "Relu_4",
            ["Farm__DefaultJob__Layers__1"] = "Relu_20",
            ["Farm__DefaultJob__Lenses__0"] = "featurevis",
            ["Farm__DefaultJob__Lenses__1"] = "negative",
            ["Farm__DefaultJob__Lenses__2"] = "tuning",
            ["Farm__DefaultJob__Lenses__3"] = "deepdream",
            ["Farm__DefaultJob__Steps"] = "4",
            ["Farm__DefaultJob__Size"] = "32",
            ["Farm__Render__Slots"] = "2",
        });
        playwright = await Playwright.CreateAsync();
        Browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = ChromiumPath, Headless = true });
        await WhenJobFinishedAsync();

        var layers = await Http.GetFromJsonAsync<JsonElement>("/api/models/small/layers");
        Layers = [.. layers.EnumerateArray().Select(l => l.GetProperty("id").GetString()!)];
        Layer = "Relu_20";
    }

    public async Task DisposeAsync()
    {
        if (playwright is not null)
        {
            await Browser.DisposeAsync();
            playwright.Dispose();
        }

        if (farm is not null)
        {
            if (!farm.HasExited)
            {
                farm.Kill(entireProcessTree: true);
                await farm.WaitForExitAsync();
            }

            farm.Dispose();
        }

        Http?.Dispose();
        if (Directory.Exists(folder))
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>A fresh browser context (no cache, no history) and a page in it, sized like a laptop unless told otherwise.</summary>
    public async Task<IPage> NewPageAsync(int width = 1280, int height = 900)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = BaseAddress.ToString(), ViewportSize = new ViewportSize { Width = width, Height = height } });
        return await context.NewPageAsync();
    }

    private async Task WhenJobFinishedAsync()
    {
        // Both models are cataloged before the job starts: ppocr-det takes a while on two shared cores.
        var deadline = DateTime.UtcNow.AddSeconds(180);
        while (true)
        {
            Assert.False(farm!.HasExited, "the farm stopped:\n" + Output);
            Assert.True(DateTime.UtcNow < deadline, "the default job did not finish within 180 s:\n" + Output);
            try
            {
                // The default job, not the organism's intake job before it.
                var jobs = (await Http.GetFromJsonAsync<JsonElement>("/api/jobs")).EnumerateArray().Where(j => !j.GetProperty("intake").GetBoolean()).ToList();
                if (jobs.Count > 0 && jobs[0].GetProperty("state").GetString() is "Completed" or "Failed")
                {
                    Assert.True(jobs[0].GetProperty("state").GetString() == "Completed", "the default job failed: " + jobs[0]);
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
            }

            await Task.Delay(250);
        }
    }

    /// <summary>The microscope-farm this solution builds, next to this project's output (same configuration and framework).</summary>
    private Process StartFarm(IReadOnlyDictionary<string, string> environment)
    {
        var here = AppContext.BaseDirectory;
        var marker = Path.Combine("tests", "Microscope.Farm.Browser.Tests", "bin");
        var index = here.IndexOf(marker, StringComparison.Ordinal);
        Assert.True(index >= 0, $"cannot find the solution from {here}");
        var host = Path.Combine(here[..index], "src", "Microscope.Farm.Host", "bin", here[(index + marker.Length + 1)..], "microscope-farm.dll");
        Assert.True(File.Exists(host), $"the farm host is not built at {host}; build the solution first.");

        var info = new ProcessStartInfo("dotnet", [host]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = Path.GetDirectoryName(host)! };
        info.Environment["DOTNET_ENVIRONMENT"] = "Production";
        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (output)
            {
                output.AppendLine(line);
            }
        }
    }
}
