using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;
using Azure.Storage.Blobs;
using Microscope.Testing;

namespace Microscope.Farm.FaultTests;

/// <summary>
/// Three silo processes on loopback: one with the api role (which also renders) and two render
/// silos, clustered and storing everything in a private Azurite, rendering a small real model.
/// </summary>
internal sealed class FaultCluster : IAsyncDisposable
{
    public const int MaxAttempts = 3;
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } };

    private readonly string folder = Path.Combine(Path.GetTempPath(), "microscope-fault-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly string clusterId = "fault-" + Guid.NewGuid().ToString("N")[..8];
    private readonly Dictionary<string, Dictionary<string, string>> configs = [];

    private FaultCluster(Azurite azurite)
    {
        Azurite = azurite;
        Directory.CreateDirectory(folder);
        ModelPath = TinyModel.SmallCnn(size: 32) is var model ? Path.Combine(folder, "small.onnx") : "";
        File.WriteAllBytes(ModelPath, Onnx.OnnxModelFile.ToBytes(model));
        Journal = Path.Combine(folder, "journal");
        ApiPort = Azurite.FreePort();
        Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{ApiPort}"), Timeout = TimeSpan.FromSeconds(30) };
    }

    public Azurite Azurite { get; }

    public string ModelPath { get; }

    public string Journal { get; }

    public int ApiPort { get; }

    public HttpClient Http { get; }

    public Dictionary<string, SiloProcess> Silos { get; } = [];

    public BlobContainerClient Lenses => new(Azurite.ConnectionString, "lenses");

    public static async Task<FaultCluster> StartAsync()
    {
        var cluster = new FaultCluster(await Azurite.StartAsync());
        cluster.Configure("api", "all", cluster.ApiPort);
        cluster.Configure("render-1", "render", Azurite.FreePort());
        cluster.Configure("render-2", "render", Azurite.FreePort());
        foreach (var name in cluster.configs.Keys)
        {
            cluster.Start(name);
        }

        await cluster.WaitForModelAsync();
        return cluster;
    }

    public void Start(string name) => Silos[name] = SiloProcess.Start(name, configs[name]);

    /// <summary>Submits a job of 47 units × 5 lenses = 235 work items on the small model.</summary>
    public async Task<string> SubmitAsync()
    {
        var spec = new
        {
            model = "small",
            lenses = new[] { "featurevis", "negative", "neuron", "diversity", "tuning" },
            unitsPerItem = 1,
            options = new { steps = 8, size = 32, diversityImages = 2 },
            clientToken = "fault-" + Guid.NewGuid(),
        };
        var response = await Http.PostAsJsonAsync("/api/jobs", spec, Json);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JobStatus>(Json))!.Id;
    }

    /// <summary>
    /// Polls the job until <paramref name="until"/> holds. <paramref name="stall"/> bounds how long the
    /// job may go without progress (items done, running or failed changing), not the whole wait: on a
    /// loaded machine the job is slower, and waiting for the condition is what the test means.
    /// </summary>
    public async Task<JobStatus> WaitAsync(string job, Func<JobStatus, bool> until, TimeSpan stall)
    {
        var deadline = DateTime.UtcNow + stall;
        JobStatus? last = null;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                var status = await Http.GetFromJsonAsync<JobStatus>($"/api/jobs/{job}", Json);
                if (status is not null && until(status))
                {
                    return status;
                }

                if (status is not null && status.Counts != last?.Counts)
                {
                    deadline = DateTime.UtcNow + stall;
                }

                last = status ?? last;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // The api silo is restarting or busy; ask again.
            }

            await Task.Delay(500);
        }

        throw new TimeoutException($"job {job} made no progress for {stall}: {last?.State} {last?.Counts}\n{Logs()}");
    }

    /// <summary>Renders per work item, from the journal every silo appends to.</summary>
    public Dictionary<int, int> RendersPerItem(string job) =>
        Directory.Exists(Journal)
            ? Directory.GetFiles(Journal).SelectMany(File.ReadAllLines).Select(l => l.Split('\t')).Where(f => f[2] == job).GroupBy(f => int.Parse(f[3], System.Globalization.CultureInfo.InvariantCulture)).ToDictionary(g => g.Key, g => g.Count())
            : [];

    public string Logs() => string.Join("\n", Silos.Values.Select(s => string.Join("\n", s.Output.Split('\n').TakeLast(40))));

    public async ValueTask DisposeAsync()
    {
        foreach (var silo in Silos.Values)
        {
            silo.Dispose();
        }

        Http.Dispose();
        await Azurite.DisposeAsync();
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private void Configure(string name, string role, int httpPort)
    {
        configs[name] = new Dictionary<string, string>
        {
            ["Farm__Role"] = role,
            ["Farm__Http__Url"] = $"http://127.0.0.1:{httpPort}",
            ["Farm__Cluster__Clustering"] = "azure",
            ["Farm__Cluster__ClusterId"] = clusterId,
            ["Farm__Cluster__SiloPort"] = Azurite.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Farm__Cluster__GatewayPort"] = Azurite.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Farm__Cluster__ShutdownTimeout"] = "00:00:20",
            ["Farm__Store__Kind"] = "blob",
            ["Farm__Store__ConnectionString"] = Azurite.ConnectionString,
            ["Farm__Store__Path"] = Path.Combine(folder, name),
            ["Farm__Store__RetryBudget"] = "00:01:00",
            ["Farm__Organisms__0"] = ModelPath,
            ["Farm__DefaultJob__Enabled"] = "false",
            ["Farm__Engine__JournalFolder"] = Journal,
            // Long enough that a renewal (every third of it) delayed by a starved CPU does not lapse a
            // live lease (the restart test counts renders: a lapsed lease renders an item twice);
            // short enough that a killed silo's items come back within seconds.
            ["Farm__Scheduling__LeaseDuration"] = "00:00:12",
            ["Farm__Scheduling__MaxAttempts"] = MaxAttempts.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Farm__Render__Slots"] = "2",
            ["Farm__Render__PollInterval"] = "00:00:00.100",
            ["Farm__Render__MaxPollInterval"] = "00:00:00.500",
        };
    }

    private async Task WaitForModelAsync()
    {
        // Registration catalogs the model by running it: minutes on a starved machine, seconds otherwise.
        var deadline = DateTime.UtcNow.AddMinutes(5);
        while (DateTime.UtcNow < deadline)
        {
            if (Silos.Values.FirstOrDefault(s => s.HasExited) is { } dead)
            {
                throw new InvalidOperationException($"silo {dead.Name} exited at start:\n{dead.Output}");
            }

            try
            {
                if ((await Http.GetAsync("/api/models/small")).IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
            }

            await Task.Delay(500);
        }

        throw new TimeoutException("the small model was not registered within 5 minutes:\n" + Logs());
    }
}
