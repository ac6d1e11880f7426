using System.Text.Json;

namespace Microscope.Farm.Deploy.Tests.Images;

/// <summary>The published host, started as compose starts each farm container, is healthy, in its role, clustered, and exports what the dashboard and alerts read.</summary>
[Collection(ComposeFarmCollection.Name)]
public sealed class ComposeFarmTests(ComposeFarm farm)
{
    [Fact]
    public async Task Each_compose_silo_starts_healthy_in_its_role_with_its_image_environment()
    {
        Assert.Equal(3, farm.Silos.Count);
        foreach (var silo in farm.Silos.Values)
        {
            await silo.WaitUntilAsync(async () => (await farm.Http.GetAsync(silo.HealthUrl)).IsSuccessStatusCode, TimeSpan.FromSeconds(90), "a healthy /healthz");
            var health = JsonDocument.Parse(await farm.Http.GetStringAsync(silo.HealthUrl)).RootElement;
            Assert.Equal("Healthy", health.GetProperty("status").GetString());
            var checks = health.GetProperty("checks");
            Assert.Equal(silo.Role == "render", checks.TryGetProperty("render", out var render));
            if (silo.Role == "render")
            {
                Assert.Equal(silo.Environment["Farm__Render__Device"], render.GetProperty("data").GetProperty("device").GetString());
            }

            var target = (await farm.ScrapeAsync(silo)).Single(s => s.Name == "target_info");
            Assert.Equal(silo.Role, target.Labels["microscope_role"]);
        }
    }

    [Fact]
    public async Task Compose_silos_form_one_cluster_whose_render_silos_render_a_job_of_the_api_silo()
    {
        await farm.JobAsync();
        foreach (var silo in farm.Silos.Values)
        {
            var samples = await farm.ScrapeAsync(silo);
            Assert.Equal(farm.Silos.Count, samples.Single(s => s.Name == "orleans_consistent_ring_size").Value);
            var rendered = samples.Where(s => s.Name == "microscope_lenses_rendered_total").Sum(s => s.Value);
            Assert.True(silo.Role == "render" ? rendered > 0 : rendered == 0, $"{silo.Name} ({silo.Role}) rendered {rendered} lenses:\n{silo.Output}");
        }

        // The API silo lists both render silos' workers (a silo is named after its host and silo port).
        var expected = farm.Silos.Values.Where(s => s.Role == "render").Select(s => $"{Environment.MachineName}-{s.Environment["Farm__Cluster__SiloPort"]}").Order().ToList();
        List<string?> workers = [];
        await farm.Api.WaitUntilAsync(async () =>
        {
            var list = JsonDocument.Parse(await farm.Http.GetStringAsync(new Uri(farm.Api.BaseUrl, "/api/workers"))).RootElement;
            workers = [.. list.EnumerateArray().Where(w => w.GetProperty("alive").GetBoolean()).Select(w => w.GetProperty("info").GetProperty("silo").GetString()).Order()];
            return workers.SequenceEqual(expected);
        }, TimeSpan.FromSeconds(30), $"/api/workers listing {string.Join(", ", expected)} (it lists {string.Join(", ", workers)})");
    }

    [Fact]
    public void Api_publish_output_has_no_cuda_provider()
    {
        Assert.NotEmpty(Directory.GetFiles(farm.PublishFolder, "libonnxruntime.so", SearchOption.AllDirectories));
        Assert.Empty(Directory.GetFiles(farm.PublishFolder, "libonnxruntime_providers_cuda*", SearchOption.AllDirectories));
        Assert.Empty(Directory.GetFiles(farm.PublishFolder, "libonnxruntime_providers_tensorrt*", SearchOption.AllDirectories));

        // The host's own build (what the render image publishes) has it: the property is what leaves it out.
        var build = Path.Combine(DeployFiles.FullPath("src/Microscope.Farm.Host/bin"), DeployFiles.Configuration);
        Assert.NotEmpty(Directory.GetFiles(build, "libonnxruntime_providers_cuda.so", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task Dashboard_and_alerts_read_only_metrics_the_host_exports()
    {
        await farm.JobAsync();
        var scraped = farm.ScrapedNames;

        // The farm's counters that nothing in a healthy run increments (lease expirations, retries,
        // failures) are not on /metrics yet; they count by the exporter's naming rule, which the
        // instruments that did fire confirm here.
        var exported = scraped.ToHashSet();
        var fired = 0;
        foreach (var (instrument, names) in DeployFiles.FarmInstruments())
        {
            if (names.Any(scraped.Contains))
            {
                fired++;
                Assert.All(names, n => Assert.Contains(n, scraped));
            }

            exported.UnionWith(names);
        }

        Assert.True(fired >= 4, $"only {fired} farm instruments seen on /metrics: {string.Join(", ", scraped.Where(n => n.StartsWith("microscope", StringComparison.Ordinal)))}");
        Assert.Contains("microscope_queue_depth", scraped);
        exported.Add("up");
        foreach (var expression in DeployFiles.DashboardExpressions().Concat(DeployFiles.AlertRules().Select(r => (string)r["expr"])))
        {
            Assert.All(Metrics.Selected(expression), name => Assert.True(exported.Contains(name), $"{name} (in {expression}) is not a metric the host exports"));
        }
    }
}
