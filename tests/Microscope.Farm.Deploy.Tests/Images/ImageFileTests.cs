using System.Net;
using System.Text.Json;

namespace Microscope.Farm.Deploy.Tests.Images;

/// <summary>The Dockerfiles, .dockerignore, compose.yaml, the dashboard and the alerting rules, read without a container engine.</summary>
public sealed class ImageFileTests
{
    [Fact]
    public void Api_image_is_the_aspnet_runtime_without_the_cuda_provider()
    {
        var image = Dockerfile.Load("deploy/api.Dockerfile");
        AssertRunsTheFarm(image, "api");
        Assert.StartsWith("mcr.microsoft.com/dotnet/aspnet:10.0", image.Final.From, StringComparison.Ordinal);
        Assert.Contains("-p:MicroscopeCudaProvider=false", Publish(image), StringComparison.Ordinal);
        Assert.Equal(["dotnet", "microscope-farm.dll"], image.Final.Entrypoint);
    }

    [Fact]
    public void Render_image_is_cuda_13_with_cudnn_9_and_a_self_contained_host()
    {
        var image = Dockerfile.Load("deploy/render.Dockerfile");
        AssertRunsTheFarm(image, "render");
        Assert.Matches(@"^nvidia/cuda:13\.\d+(\.\d+)?-cudnn-runtime-ubuntu", image.Final.From);
        Assert.Contains("--self-contained true", Publish(image), StringComparison.Ordinal);
        Assert.DoesNotContain("MicroscopeCudaProvider=false", Publish(image), StringComparison.Ordinal);
        Assert.Equal(["/app/microscope-farm"], image.Final.Entrypoint);
        Assert.Equal("/app", image.Final.Last("WORKDIR"));
    }

    [Fact]
    public void Dockerignore_leaves_out_build_outputs_data_and_the_repository()
    {
        var patterns = File.ReadAllLines(DeployFiles.FullPath(".dockerignore")).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToHashSet();
        foreach (var pattern in new[] { ".git", "**/bin/", "**/obj/", "**/node_modules/", "farm-data/", "tools/", "tests/" })
        {
            Assert.Contains(pattern, patterns);
        }

        // What the images build from must stay in the context.
        Assert.DoesNotContain(patterns, p => p.TrimStart('/').StartsWith("src", StringComparison.Ordinal) || p.TrimStart('/').StartsWith("organisms", StringComparison.Ordinal) || p.StartsWith("Directory.", StringComparison.Ordinal));
    }

    [Fact]
    public void Compose_joins_two_render_silos_and_one_api_silo_in_one_cluster_on_azurite()
    {
        var compose = ComposeFile.Load();
        var silos = compose.Silos.ToList();
        var roles = silos.ToDictionary(s => s.Name, s => Dockerfile.Load(s.Dockerfile!).Final.Environment["Farm__Role"]);
        Assert.Equal(2, roles.Values.Count(r => r == "render"));
        Assert.Equal(1, roles.Values.Count(r => r == "api"));
        foreach (var key in new[] { "Farm__Cluster__ServiceId", "Farm__Cluster__ClusterId", "Farm__Store__ConnectionString" })
        {
            Assert.Single(silos.Select(s => s.Environment[key]).Distinct());
        }

        var subnet = (string)((List<object>)ComposeFile.Map(ComposeFile.Map(ComposeFile.Map(compose.Root["networks"])["farm"])["ipam"])["config"]).Cast<Dictionary<object, object>>().Single()["subnet"];
        var network = IPNetwork.Parse(subnet);
        foreach (var silo in silos)
        {
            Assert.Equal("azure", silo.Environment["Farm__Cluster__Clustering"]);
            Assert.Equal("blob", silo.Environment["Farm__Store__Kind"]);

            // Orleans parses the advertised address as an IP: the silo's fixed address on the farm network.
            var address = silo.Environment["Farm__Cluster__AdvertisedAddress"];
            Assert.Equal(silo.Address("farm"), address);
            Assert.True(network.Contains(IPAddress.Parse(address)), $"{silo.Name}: {address} is outside {subnet}");
            Assert.Contains(new Uri(silo.Environment["OTEL_EXPORTER_OTLP_ENDPOINT"]).Host, compose.Services.Keys);
        }

        Assert.Equal(silos.Count, silos.Select(s => s.Address("farm")).Distinct().Count());
        Assert.Equal(compose.Services.Count, compose.Services.Values.Select(s => s.Address("farm")).Distinct().Count());
        Assert.Contains("http://azurite:10000/", silos[0].Environment["Farm__Store__ConnectionString"], StringComparison.Ordinal);
        Assert.Contains("http://azurite:10002/", silos[0].Environment["Farm__Store__ConnectionString"], StringComparison.Ordinal);
        Assert.Contains("azurite", compose.Services.Keys);

        // The documented local write key is the one whose hash the API silo has.
        var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(ComposeFarm.LocalKey)));
        Assert.Equal($"local:{hash}", compose.Services["api"].Environment["Farm__Api__Keys__0"]);
    }

    [Fact]
    public void Compose_pins_the_azurite_the_tests_use_and_its_gpu_override_moves_only_render_silos_to_cuda()
    {
        var compose = ComposeFile.Load();
        var version = JsonDocument.Parse(File.ReadAllText(DeployFiles.FullPath("tools/azurite/package.json"))).RootElement.GetProperty("dependencies").GetProperty("azurite").GetString();
        Assert.Equal($"mcr.microsoft.com/azure-storage/azurite:{version}", (string)compose.Services["azurite"].Definition["image"]);

        var gpu = ComposeFile.Map(DeployFiles.Yaml("deploy/compose.gpu.yaml")["services"]);
        Assert.NotEmpty(gpu);
        foreach (var (name, service) in gpu.Select(s => ((string)s.Key, new ComposeFile.Service((string)s.Key, ComposeFile.Map(s.Value)))))
        {
            Assert.Equal("render", Dockerfile.Load(compose.Services[name].Dockerfile!).Final.Environment["Farm__Role"]);
            Assert.Equal("cuda:0", service.Environment["Farm__Render__Device"]);
        }
    }

    [Fact]
    public void Compose_mounts_files_that_exist_and_prometheus_scrapes_every_silo()
    {
        var compose = ComposeFile.Load();
        foreach (var volume in compose.Services.Values.SelectMany(s => s.Volumes).Where(v => v.StartsWith("./", StringComparison.Ordinal)))
        {
            var source = Path.Combine(DeployFiles.FullPath("deploy"), volume.Split(':')[0]);
            Assert.True(File.Exists(source) || Directory.Exists(source), $"compose mounts {volume}, which is not there");
        }

        var prometheus = DeployFiles.Yaml("deploy/prometheus.yaml");
        var targets = ((List<object>)prometheus["scrape_configs"]).Cast<Dictionary<object, object>>()
            .ToDictionary(j => (string)j["job_name"], j => ((List<object>)j["static_configs"]).Cast<Dictionary<object, object>>().SelectMany(c => ((List<object>)c["targets"]).Cast<string>()).ToList());
        foreach (var silo in compose.Silos)
        {
            var role = Dockerfile.Load(silo.Dockerfile!).Final.Environment["Farm__Role"];
            var port = new Uri(Dockerfile.Load(silo.Dockerfile!).Final.Environment["Farm__Http__Url"]).Port;
            Assert.Contains($"{silo.Name}:{port}", targets[$"microscope-{role}"]);
        }

        Assert.Contains("otel-collector:8888", targets["otel-collector"]);
        Assert.Contains("/etc/prometheus/alerts.yaml", ((List<object>)prometheus["rule_files"]).Cast<string>());
        Assert.Contains(compose.Services["prometheus"].Volumes, v => v.EndsWith("alerts.yaml:/etc/prometheus/alerts.yaml:ro", StringComparison.Ordinal));
    }

    [Fact]
    public void Alert_rules_parse_and_cover_stalls_lease_storms_failures_and_missing_render_silos()
    {
        var rules = DeployFiles.AlertRules();
        Assert.All(rules, rule =>
        {
            var expression = (string)rule["expr"];
            Assert.Equal(expression.Count(c => c == '('), expression.Count(c => c == ')'));
            Assert.Matches("^(critical|warning)$", (string)ComposeFile.Map(rule["labels"])["severity"]);
            Assert.False(string.IsNullOrWhiteSpace((string)ComposeFile.Map(rule["annotations"])["summary"]));
            Assert.Matches(@"^\d+[smh]$", (string)rule["for"]);
        });
        Assert.Equal(rules.Count, rules.Select(r => (string)r["alert"]).Distinct().Count());

        bool Uses(params string[] names) => rules.Any(r => names.All(n => Metrics.Selected((string)r["expr"]).Contains(n)));
        Assert.True(Uses("microscope_queue_depth", "microscope_lenses_rendered_total"), "no stalled-jobs rule");
        Assert.True(Uses("microscope_lease_expirations_total"), "no lease-storm rule");
        Assert.True(Uses("microscope_work_failed_total"), "no failures rule");
        Assert.True(Uses("microscope_work_retries_total"), "no retries rule");
        Assert.Contains(rules, r => ((string)r["expr"]).Contains("up{job=\"microscope-render\"}", StringComparison.Ordinal));

        // Each rule has a case in the promtool unit tests beside it (promtool test rules deploy/prometheus/alerts-test.yaml).
        var tested = ((List<object>)DeployFiles.Yaml("deploy/prometheus/alerts-test.yaml")["tests"]).Cast<Dictionary<object, object>>()
            .SelectMany(t => ((List<object>)t["alert_rule_test"]).Cast<Dictionary<object, object>>()).Select(t => (string)t["alertname"]).ToHashSet();
        Assert.All(rules, r => Assert.Contains((string)r["alert"], tested));
    }

    [Fact]
    public void Dashboard_is_a_grafana_dashboard_that_shows_every_farm_metric()
    {
        var dashboard = DeployFiles.Dashboard();
        Assert.Equal("microscope-farm", dashboard.GetProperty("uid").GetString());
        var panels = dashboard.GetProperty("panels").EnumerateArray().ToList();
        Assert.Equal(panels.Count, panels.Select(p => p.GetProperty("id").GetInt32()).Distinct().Count());
        Assert.All(panels, p =>
        {
            Assert.Equal("${datasource}", p.GetProperty("datasource").GetProperty("uid").GetString());
            Assert.NotEmpty(p.GetProperty("targets").EnumerateArray());
            Assert.Equal(JsonValueKind.Object, p.GetProperty("gridPos").ValueKind);
        });

        var used = DeployFiles.DashboardExpressions().SelectMany(Metrics.Selected).ToHashSet();
        foreach (var (instrument, names) in DeployFiles.FarmInstruments())
        {
            Assert.True(names.Any(used.Contains), $"no panel shows {instrument.Name} ({string.Join(", ", names)})");
        }

        Assert.Contains("microscope_queue_depth", used);
        Assert.Contains("up", used);
    }

    private static string Publish(Dockerfile image) =>
        image.Stages.SelectMany(s => s.All("RUN")).Single(r => r.Contains("dotnet publish src/Microscope.Farm.Host/Microscope.Farm.Host.csproj", StringComparison.Ordinal));

    /// <summary>What every farm image needs: the SDK build of the host, a role, a non-root user, its ports exposed, a health check at its HTTP port.</summary>
    private static void AssertRunsTheFarm(Dockerfile image, string role)
    {
        Assert.Contains(image.Stages, s => s.From == "mcr.microsoft.com/dotnet/sdk:10.0");
        var final = image.Final;
        var environment = final.Environment;
        Assert.Equal(role, environment["Farm__Role"]);
        // A number, so that Kubernetes' runAsNonRoot can check it (the Helm chart runs as 1654 too).
        Assert.Matches(@"^[1-9]\d*(:\d+)?$", final.Last("USER") ?? "");
        var http = new Uri(environment["Farm__Http__Url"]);
        Assert.Equal("0.0.0.0", http.Host);
        Assert.Equal(http.Port, final.HealthcheckUrl.Port);
        Assert.Equal("/healthz", final.HealthcheckUrl.AbsolutePath);
        Assert.Equal(
            new[] { http.Port, int.Parse(environment["Farm__Cluster__SiloPort"], System.Globalization.CultureInfo.InvariantCulture), int.Parse(environment["Farm__Cluster__GatewayPort"], System.Globalization.CultureInfo.InvariantCulture) }.Order(),
            final.Exposed.Order());
        Assert.NotEmpty(final.Entrypoint);
    }
}
