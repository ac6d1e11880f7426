using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.RegularExpressions;
using Microscope.Testing;

namespace Microscope.Farm.Deploy.Tests.Images;

[CollectionDefinition(Name)]
public sealed class ComposeFarmCollection : ICollectionFixture<ComposeFarm>
{
    public const string Name = "compose farm";
}

/// <summary>
/// deploy/compose.yaml's farm silos (two render, one API) as processes of the host published once,
/// each started with the arguments and environment its container gets (its image's final-stage ENV
/// and ENTRYPOINT, then the service's environment and command). What must change to run on one
/// machine without a container engine is rewritten, and only that (<see cref="Rewrite"/>); the
/// test-only settings (<see cref="TestOnly"/>) swap real renders for the simulated engine and
/// resnet18 for a tiny model, so that the whole class takes seconds, not hours.
/// </summary>
public sealed partial class ComposeFarm : IAsyncLifetime
{
    /// <summary>compose.yaml's write key for the local farm (Farm__Api__Keys__0 holds its hash; docs/operations.md names it).</summary>
    public const string LocalKey = "microscope-local";

    private readonly string folder = Path.Combine(Path.GetTempPath(), "microscope-compose-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly HashSet<string> scraped = [];
    private readonly Lazy<Task<string>> job;
    private Azurite? azurite;

    public ComposeFarm()
    {
        job = new(RunJobAsync);
        Http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
    }

    public string PublishFolder => Path.Combine(folder, "publish");

    internal ComposeFile Compose { get; } = ComposeFile.Load();

    public Dictionary<string, Silo> Silos { get; } = [];

    public Silo Api => Silos.Values.Single(s => s.Role == "api");

    public HttpClient Http { get; }

    /// <summary>Every metric name seen in any scrape of any silo so far.</summary>
    public IReadOnlySet<string> ScrapedNames
    {
        get
        {
            lock (scraped)
            {
                return scraped.ToHashSet();
            }
        }
    }

    /// <summary>Settings the test adds on top of the containers' own: the simulated engine and a tiny model, rendered quickly.</summary>
    public IReadOnlyDictionary<string, string> TestOnly => new Dictionary<string, string>
    {
        ["Farm__Engine__Kind"] = "simulated",
        ["Farm__Engine__SimulatedMilliseconds"] = "100",
        ["Farm__Organisms__0"] = Path.Combine(folder, "small.onnx"),
        ["Farm__DefaultJob__Model"] = "small",
        ["Farm__DefaultJob__Steps"] = "8",
        ["Farm__DefaultJob__Size"] = "32",
    };

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(folder);
        await File.WriteAllBytesAsync(Path.Combine(folder, "small.onnx"), Onnx.OnnxModelFile.ToBytes(TinyModel.SmallCnn(size: 32)));
        var starting = Azurite.StartAsync();
        await PublishAsync();
        azurite = await starting;
        foreach (var service in Compose.Silos)
        {
            Silos[service.Name] = Silo.Start(this, service);
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var silo in Silos.Values)
        {
            silo.Dispose();
        }

        Http.Dispose();
        if (azurite is not null)
        {
            await azurite.DisposeAsync();
        }

        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>
    /// The host published as the API image publishes it (its build stage's -p: properties), framework-
    /// dependent and from the build the test run already has (--no-build: nothing of the solution's
    /// build output is written). The image adds -r linux-x64, which only flattens runtimes/linux-x64/native.
    /// </summary>
    private async Task PublishAsync()
    {
        var publish = Dockerfile.Load("deploy/api.Dockerfile").Stages.SelectMany(s => s.All("RUN")).Single(r => r.Contains("dotnet publish", StringComparison.Ordinal));
        var configuration = DeployFiles.Configuration;
        var project = Path.Combine(RepositoryRoot.Path, "src", "Microscope.Farm.Host", "Microscope.Farm.Host.csproj");
        var info = new ProcessStartInfo("dotnet", ["publish", project, "-c", configuration, "--no-build", "--no-restore", "-nologo", "-v", "quiet", "-o", PublishFolder,
            .. Property().Matches(publish).Select(m => m.Value)])
        { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"dotnet publish failed:\n{await output}\n{await errors}");
    }

    /// <summary>
    /// What the container's environment must change to run here: container addresses become loopback,
    /// fixed ports free ones, the Azurite service this fixture's Azurite, the data volume a temp folder.
    /// </summary>
    internal Dictionary<string, string> Rewrite(string name, IReadOnlyDictionary<string, string> container)
    {
        var local = container.ToDictionary();
        var http = new Uri(container["Farm__Http__Url"]);
        local["Farm__Http__Url"] = $"{http.Scheme}://127.0.0.1:{Azurite.FreePort()}";
        local["Farm__Cluster__SiloPort"] = Azurite.FreePort().ToString(CultureInfo.InvariantCulture);
        local["Farm__Cluster__GatewayPort"] = Azurite.FreePort().ToString(CultureInfo.InvariantCulture);
        local["Farm__Cluster__AdvertisedAddress"] = "127.0.0.1";
        Assert.Contains("http://azurite:", container["Farm__Store__ConnectionString"], StringComparison.Ordinal);
        local["Farm__Store__ConnectionString"] = azurite!.ConnectionString;
        local["Farm__Store__Path"] = Path.Combine(folder, name);
        if (container.TryGetValue("OTEL_EXPORTER_OTLP_ENDPOINT", out var otlp))
        {
            // Nothing listens there: the exporter is on, as in the cluster, and its sends fail quietly.
            local["OTEL_EXPORTER_OTLP_ENDPOINT"] = new UriBuilder(otlp) { Host = "127.0.0.1", Port = Azurite.FreePort() }.Uri.ToString().TrimEnd('/');
        }

        foreach (var (key, value) in TestOnly)
        {
            local[key] = value;
        }

        return local;
    }

    /// <summary>Scrapes a silo's /metrics, remembering every metric name seen.</summary>
    internal async Task<IReadOnlyList<Metrics.Sample>> ScrapeAsync(Silo silo)
    {
        var samples = Metrics.Parse(await Http.GetStringAsync(new Uri(silo.BaseUrl, "/metrics")));
        lock (scraped)
        {
            scraped.UnionWith(samples.Select(s => s.Name));
        }

        return samples;
    }

    /// <summary>Once the three silos are one cluster, one small job submitted to the API silo and rendered to the end (run once, shared by the tests).</summary>
    public Task<string> JobAsync() => job.Value;

    public async Task WaitUntilClusteredAsync()
    {
        foreach (var silo in Silos.Values)
        {
            await silo.WaitUntilAsync(async () => (await Http.GetAsync(silo.HealthUrl)).IsSuccessStatusCode, TimeSpan.FromSeconds(90), "a healthy /healthz");
        }

        foreach (var silo in Silos.Values)
        {
            await silo.WaitUntilAsync(async () => (await ScrapeAsync(silo)).Any(s => s.Name == "orleans_consistent_ring_size" && s.Value == Silos.Count),
                TimeSpan.FromSeconds(60), $"a ring of {Silos.Count} silos");
        }
    }

    private async Task<string> RunJobAsync()
    {
        await WaitUntilClusteredAsync();
        await Api.WaitUntilAsync(async () => (await Http.GetAsync(new Uri(Api.BaseUrl, "/api/models/small"))).IsSuccessStatusCode, TimeSpan.FromSeconds(60), "the small model registered");
        var spec = new { model = "small", lenses = new[] { "negative", "neuron" }, unitsPerItem = 1, options = new { steps = 16, size = 32 }, clientToken = "compose-" + Guid.NewGuid() };
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(Api.BaseUrl, "/api/jobs")) { Content = JsonContent.Create(spec) };
        request.Headers.Authorization = new("Bearer", LocalKey);
        var response = await Http.SendAsync(request);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        var id = (await response.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("id").GetString()!;
        await Api.WaitUntilAsync(async () =>
        {
            foreach (var silo in Silos.Values)
            {
                await ScrapeAsync(silo);
            }

            var status = await Http.GetFromJsonAsync<System.Text.Json.JsonElement>(new Uri(Api.BaseUrl, $"/api/jobs/{id}"));
            return status.GetProperty("state").ToString() is "Completed" or "3";
        }, TimeSpan.FromSeconds(90), $"job {id} completed");
        return id;
    }

    [GeneratedRegex(@"-p:\S+")]
    private static partial Regex Property();

    /// <summary>One silo process: the host started as its container would start it.</summary>
    public sealed class Silo : IDisposable
    {
        private readonly Process process;
        private readonly StringBuilder output = new();

        private Silo(string name, Process process, IReadOnlyDictionary<string, string> environment, Uri healthUrl, IReadOnlyList<string> arguments)
        {
            (Name, this.process, Environment, HealthUrl, Arguments) = (name, process, environment, healthUrl, arguments);
        }

        public string Name { get; }

        /// <summary>The environment it runs with (the container's, rewritten, with the test-only settings).</summary>
        public IReadOnlyDictionary<string, string> Environment { get; }

        /// <summary>The program's arguments after the program: the ENTRYPOINT's and the command's.</summary>
        public IReadOnlyList<string> Arguments { get; }

        public string Role => Environment["Farm__Role"];

        public Uri BaseUrl => new(Environment["Farm__Http__Url"]);

        /// <summary>The HEALTHCHECK's URL, at this process's port.</summary>
        public Uri HealthUrl { get; }

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

        /// <summary>The image's ENV, the service's environment over it, then <see cref="Rewrite"/>.</summary>
        internal static Silo Start(ComposeFarm farm, ComposeFile.Service service)
        {
            var image = Dockerfile.Load(service.Dockerfile!).Final;
            var container = new Dictionary<string, string>(image.Environment);
            foreach (var (key, value) in service.Environment)
            {
                container[key] = value;
            }

            var environment = farm.Rewrite(service.Name, container);
            var entry = image.Entrypoint.Concat(service.Command.Count > 0 ? service.Command : image.Cmd).ToList();

            // "dotnet microscope-farm.dll" (framework-dependent) or "/app/microscope-farm" (its self-contained apphost): the same program.
            var (program, arguments) = entry[0] == "dotnet" ? (entry[1], entry[2..]) : (Path.GetFileName(entry[0]) + ".dll", entry[1..]);
            var info = new ProcessStartInfo("dotnet", [Path.Combine(farm.PublishFolder, program), .. arguments])
            { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = farm.PublishFolder };
            foreach (var key in info.Environment.Keys.Where(k => k.StartsWith("Farm__", StringComparison.Ordinal) || k.StartsWith("OTEL_", StringComparison.Ordinal) || k.StartsWith("ASPNETCORE_", StringComparison.Ordinal) || k == "DOTNET_ENVIRONMENT").ToList())
            {
                info.Environment.Remove(key);
            }

            foreach (var (key, value) in environment)
            {
                info.Environment[key] = value;
            }

            var health = new UriBuilder(image.HealthcheckUrl) { Port = new Uri(environment["Farm__Http__Url"]).Port }.Uri;
            var silo = new Silo(service.Name, new Process { StartInfo = info }, environment, health, arguments);
            silo.process.OutputDataReceived += (_, e) => silo.Append(e.Data);
            silo.process.ErrorDataReceived += (_, e) => silo.Append(e.Data);
            silo.process.Start();
            silo.process.BeginOutputReadLine();
            silo.process.BeginErrorReadLine();
            return silo;
        }

        /// <summary>Polls until <paramref name="ready"/> holds (failed requests count as not yet); fails with the silo's output when it exits or the time is up.</summary>
        public async Task WaitUntilAsync(Func<Task<bool>> ready, TimeSpan timeout, string what)
        {
            var clock = Stopwatch.StartNew();
            while (true)
            {
                Assert.False(process.HasExited, $"{Name} exited before {what}:\n{Output}");
                try
                {
                    if (await ready())
                    {
                        return;
                    }
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                }

                Assert.True(clock.Elapsed < timeout, $"{Name}: no {what} within {timeout}:\n{Output}");
                await Task.Delay(250);
            }
        }

        public void Dispose()
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit();
            }

            process.Dispose();
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
}
