using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microscope.Testing;

namespace Microscope.Farm.Deploy.Tests.Helm;

/// <summary>
/// What the farm needs from Kubernetes, read from the templates (actions replaced by placeholders that
/// remember their expression) and values.yaml: GPUs requested as limited, graceful shutdown that hands
/// leases back, rolling updates that never lose capacity, Orleans hosting's labels, environment and RBAC.
/// </summary>
public sealed partial class ChartSemanticsTests
{
    private static readonly string[] SiloDeployments = ["api-deployment.yaml", "render-deployments.yaml"];

    private static readonly IReadOnlyDictionary<string, string> Helpers = GoTemplate.Defines(HelmChart.Template("_helpers.tpl"));

    [Fact]
    public void Render_pools_request_and_limit_the_same_number_of_GPUs()
    {
        var template = HelmChart.Template("render-deployments.yaml");
        var (deployment, stripped) = Single("render-deployments.yaml", "Deployment");
        var resources = Container(deployment)["resources"]!;
        var requested = stripped.ActionOf((string?)resources["requests"]?["nvidia.com/gpu"]);
        var limited = stripped.ActionOf((string?)resources["limits"]?["nvidia.com/gpu"]);
        Assert.NotNull(requested);
        Assert.Equal(requested, limited);

        // ... and that value is the pool's gpu.count.
        var variable = Assert.Single(Regex.Matches(requested, @"\$\w+")).Value;
        Assert.Matches($@"\{{{{-?\s*{Regex.Escape(variable)}\s*:=\s*int\s+\$pool\.gpu\.count\s*\}}}}", template);
    }

    [Fact]
    public void The_grace_period_outlasts_the_shutdown_timeout_in_values_yaml()
    {
        var values = HelmChart.Values();
        var timeout = (long)HelmChart.At(values, "orleans.shutdown.timeoutSeconds")!;
        var grace = (long)HelmChart.At(values, "orleans.shutdown.terminationGracePeriodSeconds")!;
        Assert.True(grace > timeout, $"terminationGracePeriodSeconds {grace} must be greater than the shutdown timeout {timeout}, or silos are killed with leases held");
    }

    [Fact]
    public void Silo_pods_take_the_grace_period_and_shutdown_timeout_from_those_values()
    {
        var podSpec = Helper("microscope-farm.podSpec");
        Assert.Equal(".Values.orleans.shutdown.terminationGracePeriodSeconds", podSpec.Stripped.ActionOf((string?)podSpec.Node["terminationGracePeriodSeconds"]));

        var shutdown = Env(Helper("microscope-farm.siloEnv"), "Farm__Cluster__ShutdownTimeout");
        Assert.Contains("include \"microscope-farm.shutdownTimeout\"", shutdown);
        var timeout = Helpers["microscope-farm.shutdownTimeout"];
        Assert.Contains(".Values.orleans.shutdown.timeoutSeconds", timeout);
        Assert.Matches(@"if le \$grace \$seconds \}\}\s*\{\{- fail", timeout);

        foreach (var file in SiloDeployments)
        {
            Assert.Contains("include \"microscope-farm.podSpec\"", HelmChart.Template(file));
        }
    }

    [Theory]
    [InlineData("api-deployment.yaml")]
    [InlineData("render-deployments.yaml")]
    public void Rolling_updates_never_take_a_silo_down_before_its_replacement_is_up(string file)
    {
        var (deployment, _) = Single(file, "Deployment");
        var rolling = deployment["spec"]!["strategy"]!["rollingUpdate"]!;
        Assert.Equal(0, (long)rolling["maxUnavailable"]!);
        Assert.True((long)rolling["maxSurge"]! >= 1);
    }

    [Theory]
    [InlineData("api-deployment.yaml", "api")]
    [InlineData("render-deployments.yaml", "render")]
    public void Silo_pods_carry_what_Orleans_Kubernetes_hosting_reads(string file, string role)
    {
        var template = HelmChart.Template(file);
        var (deployment, _) = Single(file, "Deployment");

        // The orleans/serviceId and orleans/clusterId labels go on the pod template (nindent 8 = template.metadata.labels).
        Assert.Matches(@"include ""microscope-farm.orleansLabels"" (\.|\$) \| nindent 8", template);
        var labels = GoTemplate.Strip(Helpers["microscope-farm.orleansLabels"]);
        var labelMap = YamlJson.Parse(labels.Yaml)[0]!;
        Assert.Equal(".Values.orleans.serviceId | quote", labels.ActionOf((string?)labelMap["orleans/serviceId"]));
        Assert.Equal(".Values.orleans.clusterId | quote", labels.ActionOf((string?)labelMap["orleans/clusterId"]));

        // The environment: pod name, namespace and IP from the downward API, the ids from those labels.
        Assert.Contains("include \"microscope-farm.siloEnv\"", template);
        var env = Helper("microscope-farm.siloEnv");
        Assert.Equal("metadata.name", FieldRef(env, "POD_NAME"));
        Assert.Equal("metadata.namespace", FieldRef(env, "POD_NAMESPACE"));
        Assert.Equal("status.podIP", FieldRef(env, "POD_IP"));
        Assert.Equal("metadata.labels['orleans/serviceId']", FieldRef(env, "ORLEANS_SERVICE_ID"));
        Assert.Equal("metadata.labels['orleans/clusterId']", FieldRef(env, "ORLEANS_CLUSTER_ID"));
        Assert.Equal("kubernetes", Env(env, "Farm__Cluster__Clustering"));

        // The role, and the probes on the port the host serves health on.
        var container = Container(deployment);
        var roleEnv = container["env"]!.AsArray().Single(e => (string?)e!["name"] == "Farm__Role")!;
        Assert.Equal(role, (string?)roleEnv["value"]);
        Assert.Contains("include \"microscope-farm.probes\"", template);
    }

    [Fact]
    public void Probes_go_to_the_hosts_health_endpoints_and_startup_allows_minutes()
    {
        var probes = Helper("microscope-farm.probes").Node;
        Assert.Equal("/alive", (string?)probes["startupProbe"]!["httpGet"]!["path"]);
        Assert.Equal("/healthz", (string?)probes["readinessProbe"]!["httpGet"]!["path"]);
        Assert.Equal("/alive", (string?)probes["livenessProbe"]!["httpGet"]!["path"]);

        var startup = HelmChart.At(HelmChart.Values(), "probes.startup")!;
        var window = (long)startup["periodSeconds"]! * (long)startup["failureThreshold"]!;
        Assert.True(window >= 300, $"the startup probe gives a silo {window} s; starting and joining a busy cluster can take minutes");

        var endpoints = File.ReadAllText(RepositoryRoot.Combine("src", "Microscope.Farm.ServiceDefaults", "Extensions.cs"));
        Assert.Contains("MapHealthChecks(\"/healthz\"", endpoints);
        Assert.Contains("MapHealthChecks(\"/alive\"", endpoints);
    }

    [Fact]
    public void The_role_lets_Orleans_hosting_watch_and_delete_pods()
    {
        var role = HelmChart.Manifests().SelectMany(TemplateYamlTests.Documents).Single(d => (string?)d["kind"] == "Role");
        var rule = role["rules"]!.AsArray().Single(r => r!["resources"]!.AsArray().Any(x => (string?)x == "pods"))!;
        var verbs = rule["verbs"]!.AsArray().Select(v => (string)v!).ToHashSet();
        Assert.Superset(new HashSet<string> { "get", "list", "watch", "delete" }, verbs);
        Assert.Equal("", (string?)rule["apiGroups"]![0]);
    }

    [Fact]
    public void Every_render_pool_has_a_PodDisruptionBudget_switch_and_GPU_pools_tolerate_a_GPU_taint()
    {
        foreach (var pool in HelmChart.At(HelmChart.Values(), "render.pools")!.AsArray())
        {
            Assert.NotNull(HelmChart.At(pool, "podDisruptionBudget.enabled"));
            if ((long)HelmChart.At(pool, "gpu.count")! > 0)
            {
                Assert.Contains(pool!["tolerations"]!.AsArray(), t => ((string?)t!["key"])?.StartsWith("nvidia.com/gpu", StringComparison.Ordinal) == true);
            }
        }
    }

    /// <summary>A pool's memory block reaches the silo: the headroom always, the pass cap and the arena limit only when set (0 means none).</summary>
    [Fact]
    public void Render_pools_pass_their_memory_settings_to_the_silo()
    {
        var template = HelmChart.Template("render-deployments.yaml");
        var (deployment, stripped) = Single("render-deployments.yaml", "Deployment");
        var env = (Container(deployment)["env"]!, stripped);
        Assert.Equal("$pool.memory.headroom | quote", Env(env, "Farm__Render__MemoryHeadroom"));
        Assert.Equal("$pool.memory.maxBatch | quote", Env(env, "Farm__Render__MaxBatch"));
        Assert.Equal("$pool.memory.cudaArenaMegabytes | quote", Env(env, "Farm__Render__CudaMemoryMegabytes"));
        Assert.Matches(@"if gt \(int \$pool\.memory\.maxBatch\) 0 \}\}\s*- name: Farm__Render__MaxBatch", template);
        Assert.Matches(@"if gt \(int \$pool\.memory\.cudaArenaMegabytes\) 0 \}\}\s*- name: Farm__Render__CudaMemoryMegabytes", template);
    }

    [Fact]
    public void Autoscaling_queries_the_queue_depth_metric_the_farm_exports()
    {
        var queueDepth = File.ReadAllText(RepositoryRoot.Combine("src", "Microscope.Farm.Grains", "QueueDepth.cs"));
        var meter = Regex.Match(queueDepth, @"CreateObservableGauge\(\s*""([a-z.]+)""").Groups[1].Value;
        Assert.Equal("microscope.queue.depth", meter);

        // The Prometheus exporter writes dots as underscores; a gauge of {item} gets no unit suffix.
        var metric = meter.Replace('.', '_');
        var (scaledObject, stripped) = Single("render-scaledobjects.yaml", "ScaledObject");
        var trigger = scaledObject["spec"]!["triggers"]![0]!;
        Assert.Equal("prometheus", (string?)trigger["type"]);
        var query = stripped.ActionOf((string?)trigger["metadata"]!["query"]);
        Assert.Contains(metric + "{", query);
        Assert.Contains(".Values.render.autoscaling.prometheusServerAddress", stripped.ActionOf((string?)trigger["metadata"]!["serverAddress"]));

        // A pool scales on the items it can serve: the label of the jobs' required tags, matched
        // against the pool's own tags (its GPU kind and extra tags, lower-cased, dots literal).
        var telemetry = File.ReadAllText(RepositoryRoot.Combine("src", "Microscope.Farm.Abstractions", "FarmTelemetry.cs"));
        var label = Regex.Match(telemetry, @"RequiredTags = ""([a-z._]+)""").Groups[1].Value.Replace('.', '_');
        Assert.Equal("microscope_required_tags", label);
        Assert.Contains(label + "=~\\\",((%s),)*\\\"", query);
        var template = HelmChart.Template("render-scaledobjects.yaml");
        Assert.Contains("range $tag := prepend $pool.extraTags $pool.gpu.kind", template);
        Assert.Contains("replace \".\" \"[.]\" (lower $tag)", template);
        Assert.Contains("(join \"|\" $tags)", template);
    }

    /// <summary>
    /// Every Farm__ setting the chart writes is one the host reads: a property of that name in src/
    /// (the options classes) or the whole key read as a string ("Farm:Api:Keys"). A misspelt variable
    /// would be ignored silently by configuration binding.
    /// </summary>
    [Fact]
    public void Every_Farm_setting_the_chart_writes_is_read_by_the_host()
    {
        var source = string.Join("\n", Directory.EnumerateFiles(RepositoryRoot.Combine("src"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Select(File.ReadAllText));
        var settings = HelmChart.TemplateFiles().SelectMany(f => FarmVariable().Matches(HelmChart.Template(f)))
            .Select(m => m.Value.Replace("__", ":", StringComparison.Ordinal)).Distinct().ToList();
        Assert.Contains("Farm:Render:Slots", settings);
        var unknown = settings.Where(key =>
            !source.Contains($"\"{key}\"", StringComparison.Ordinal)
            && !Regex.IsMatch(source, $@"public [\w<>?,\s]+ {Regex.Escape(key[(key.LastIndexOf(':') + 1)..])} \{{ get;")).ToList();
        Assert.True(unknown.Count == 0, "the chart sets settings the host does not read: " + string.Join(", ", unknown));
    }

    /// <summary>The Ingress routes the API and the web UI only: the management endpoints (metrics, health with worker ids and devices) never leave the cluster.</summary>
    [Fact]
    public void The_ingress_routes_only_the_api_and_the_web_ui()
    {
        var (ingress, _) = Single("api-ingress.yaml", "Ingress");
        var paths = ingress["spec"]!["rules"]![0]!["http"]!["paths"]!.AsArray()
            .Select(p => ((string)p!["path"]!, (string)p["pathType"]!)).ToList();
        Assert.Equal([("/", "Exact"), ("/api", "Prefix"), ("/ui", "Prefix"), ("/models", "Prefix"), ("/jobs", "Prefix")], paths);

        static bool Routed(string url, (string Path, string Type) rule) =>
            rule.Type == "Exact" ? url == rule.Path : url == rule.Path || url.StartsWith(rule.Path + "/", StringComparison.Ordinal);
        foreach (var url in (string[])["/metrics", "/healthz", "/alive", "/healthz/ready"])
        {
            Assert.DoesNotContain(paths, rule => Routed(url, rule));
        }

        foreach (var url in (string[])["/", "/api/models", "/api/openapi.json", "/ui/app.js", "/models/resnet18/layers/conv1/units/0", "/jobs"])
        {
            Assert.Contains(paths, rule => Routed(url, rule));
        }
    }

    [GeneratedRegex(@"Farm(?:__[A-Z][A-Za-z]*)+")]
    private static partial Regex FarmVariable();

    /// <summary>The one document of a kind in a template, and what its placeholders stand for.</summary>
    private static (JsonNode Node, GoTemplate.Stripped Stripped) Single(string file, string kind)
    {
        var stripped = GoTemplate.Strip(HelmChart.Template(file));
        var document = YamlJson.Parse(stripped.Yaml).Single(d => (string?)d?["kind"] == kind)!;
        return (document, stripped);
    }

    /// <summary>A named template of _helpers.tpl parsed as YAML.</summary>
    private static (JsonNode Node, GoTemplate.Stripped Stripped) Helper(string name)
    {
        var stripped = GoTemplate.Strip(Helpers[name]);
        return (YamlJson.Parse(stripped.Yaml)[0]!, stripped);
    }

    private static JsonNode Container(JsonNode deployment) => deployment["spec"]!["template"]!["spec"]!["containers"]![0]!;

    private static JsonNode EnvVar((JsonNode Node, GoTemplate.Stripped Stripped) env, string name) =>
        env.Node.AsArray().SingleOrDefault(e => (string?)e!["name"] == name) ?? throw new Xunit.Sdk.XunitException($"no {name} in the silo environment");

    private static string? FieldRef((JsonNode Node, GoTemplate.Stripped Stripped) env, string name) =>
        (string?)EnvVar(env, name)["valueFrom"]?["fieldRef"]?["fieldPath"];

    /// <summary>A literal value, or the action it is written from.</summary>
    private static string? Env((JsonNode Node, GoTemplate.Stripped Stripped) env, string name)
    {
        var value = (string?)EnvVar(env, name)["value"];
        return env.Stripped.ActionOf(value) ?? value;
    }
}
