using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using Azure.Storage.Blobs;
using Microscope.Testing;

namespace Microscope.Farm.FaultTests;

/// <summary>
/// One farm process (role all, localhost clustering) whose lens store and grain state are blobs in a
/// private Azurite, with an API key configured, a small model registered at start and a few of its
/// units rendered by a job submitted through the API: the host every <see cref="ApiTests"/> test shares.
/// </summary>
public sealed class ApiHost : IAsyncLifetime
{
    public const string Key = "api-test-key-6a1f0c";
    public const string Model = "small";
    public const string Layer = "Relu_20";
    public const long MaxUploadBytes = 256 * 1024;
    public const int ItemsPerJob = 200;
    public const long CostPerJob = 100_000_000;
    public static readonly int[] RenderedUnits = [0, 1, 2];

    private readonly string folder = Path.Combine(Path.GetTempPath(), "microscope-api-" + Guid.NewGuid().ToString("N")[..8]);
    private SiloProcess silo = null!;

    public Azurite Azurite { get; private set; } = null!;

    public HttpClient Http { get; private set; } = null!;

    public BlobServiceClient Blobs { get; private set; } = null!;

    /// <summary>The job the fixture submitted and waited for: featurevis of <see cref="RenderedUnits"/> of <see cref="Layer"/>.</summary>
    public JobStatus RenderedJob { get; private set; } = null!;

    public string Output => silo.Output;

    /// <summary>The farm process's resident and peak memory (bytes).</summary>
    public (long Resident, long Peak) Memory() => silo.Memory();

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(folder);
        var model = Path.Combine(folder, Model + ".onnx");
        File.WriteAllBytes(model, Onnx.OnnxModelFile.ToBytes(TinyModel.SmallCnn(size: 32)));
        Azurite = await Azurite.StartAsync();
        Blobs = new BlobServiceClient(Azurite.ConnectionString);
        var port = Azurite.FreePort();
        Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
        silo = SiloProcess.Start("api", new Dictionary<string, string>
        {
            ["Farm__Role"] = "all",
            ["Farm__Http__Url"] = $"http://127.0.0.1:{port}",
            ["Farm__Cluster__Clustering"] = "localhost",
            ["Farm__Cluster__SiloPort"] = Azurite.FreePort().ToString(CultureInfo.InvariantCulture),
            ["Farm__Cluster__GatewayPort"] = Azurite.FreePort().ToString(CultureInfo.InvariantCulture),
            ["Farm__Store__Kind"] = "blob",
            ["Farm__Store__ConnectionString"] = Azurite.ConnectionString,
            ["Farm__Store__Path"] = Path.Combine(folder, "farm-data"),
            ["Farm__Organisms__0"] = model,
            ["Farm__DefaultJob__Enabled"] = "false",
            ["Farm__Engine__CacheFolder"] = Path.Combine(folder, "cache"),
            ["Farm__Api__Keys__0"] = $"tester:{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Key)))}",
            ["Farm__Api__MaxUploadBytes"] = MaxUploadBytes.ToString(CultureInfo.InvariantCulture),

            // The fuzz writes a few hundred times a minute: no write rate limit here (it has tests of its own).
            ["Farm__Api__WritesPerMinute"] = "0",

            // Ceilings small enough for the small model to reach them (the defaults are sized for resnets).
            ["Farm__Api__Quotas__ItemsPerJob"] = ItemsPerJob.ToString(CultureInfo.InvariantCulture),
            ["Farm__Api__Quotas__CostPerJob"] = CostPerJob.ToString(CultureInfo.InvariantCulture),
            ["Farm__Render__Slots"] = "2",
            ["Farm__Render__PollInterval"] = "00:00:00.100",
            ["Farm__Render__MaxPollInterval"] = "00:00:00.300",
        });
        await silo.WaitUntilAsync(async () => (await Http.GetAsync($"/api/models/{Model}")).IsSuccessStatusCode, TimeSpan.FromMinutes(2), "registered model");

        var submitted = await SendAsync(HttpMethod.Post, "/api/jobs", JsonContent.Create(new
        {
            model = Model,
            layers = new[] { Layer },
            units = RenderedUnits,
            lenses = new[] { "featurevis" },
            options = new { steps = 4, size = 32 },
            unitsPerItem = 1,
            clientToken = "api-fixture",
        }), Key);
        Assert.True(submitted.IsSuccessStatusCode, await submitted.Content.ReadAsStringAsync());
        var id = (await submitted.Content.ReadFromJsonAsync<JobStatus>(FaultCluster.Json))!.Id;
        await silo.WaitUntilAsync(async () =>
        {
            RenderedJob = (await Http.GetFromJsonAsync<JobStatus>($"/api/jobs/{id}", FaultCluster.Json))!;
            return RenderedJob.IsFinished;
        }, TimeSpan.FromMinutes(2), "rendered fixture job");
        Assert.Equal(JobState.Completed, RenderedJob.State);

        // The layer writes its manifest (index.json) a couple of seconds after its last lens: wait for it to name
        // every rendered unit, so that no test sees that write as one of its own.
        var index = Blobs.GetBlobContainerClient("lenses").GetBlobClient($"models/{Model}/{RenderedJob.ModelVersion}/layers/{Layer}/index.json");
        await silo.WaitUntilAsync(async () =>
        {
            if (!(await index.ExistsAsync()).Value)
            {
                return false;
            }

            using var manifest = System.Text.Json.JsonDocument.Parse((await index.DownloadContentAsync()).Value.Content.ToString());
            return manifest.RootElement.GetProperty("units").EnumerateObject().Count() == RenderedUnits.Length;
        }, TimeSpan.FromSeconds(30), "layer manifest");
    }

    public async Task DisposeAsync()
    {
        await silo.StopAsync(TimeSpan.FromSeconds(20));
        silo.Dispose();
        Http.Dispose();
        await Azurite.DisposeAsync();
        Directory.Delete(folder, recursive: true);
    }

    /// <summary>A request with an optional "Authorization: Bearer" key and extra headers (sent unvalidated, as a client may send anything).</summary>
    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string url, HttpContent? content = null, string? key = null, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(method, url) { Content = content };
        if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        foreach (var (name, value) in headers)
        {
            if (!request.Headers.TryAddWithoutValidation(name, value) && request.Content is { } body)
            {
                body.Headers.Remove(name);
                body.Headers.TryAddWithoutValidation(name, value);
            }
        }

        return await Http.SendAsync(request);
    }

    /// <summary>Every blob of every container in the storage account, with its ETag: what the farm has stored.</summary>
    public async Task<SortedDictionary<string, string>> BlobsAsync()
    {
        var blobs = new SortedDictionary<string, string>(StringComparer.Ordinal);
        await foreach (var container in Blobs.GetBlobContainersAsync())
        {
            await foreach (var blob in Blobs.GetBlobContainerClient(container.Name).GetBlobsAsync())
            {
                blobs[$"{container.Name}/{blob.Name}"] = blob.Properties.ETag?.ToString() ?? "";
            }
        }

        return blobs;
    }

    /// <summary>
    /// The blobs once nothing changes any more (two listings 1.5 s apart agree): a render, a job's
    /// timer (it flushes a changed ledger every second) or the job directory still writing would make
    /// every "nothing stored" comparison flaky.
    /// </summary>
    public async Task<SortedDictionary<string, string>> SettledBlobsAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        var last = await BlobsAsync();
        while (true)
        {
            await Task.Delay(1500);
            var now = await BlobsAsync();
            if (now.SequenceEqual(last) || DateTime.UtcNow > deadline)
            {
                return now;
            }

            last = now;
        }
    }
}

/// <summary>The API tests and the hostile suite share one farm process.</summary>
[CollectionDefinition(Name)]
public sealed class ApiCollection : ICollectionFixture<ApiHost>
{
    public const string Name = "api";
}
