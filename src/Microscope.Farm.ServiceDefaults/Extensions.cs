using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Microscope.Farm.ServiceDefaults;

/// <summary>
/// OpenTelemetry in one place for every role: ASP.NET Core, HttpClient, the runtime, Orleans' own
/// meters and sources, and the farm's. OTLP export is switched on by the standard OTEL_* variables
/// (OTEL_EXPORTER_OTLP_ENDPOINT); Prometheus scrapes /metrics.
/// </summary>
public static class Extensions
{
    /// <summary>Orleans' activity sources (grain calls, and their lifecycle) and meter.</summary>
    public static readonly string[] OrleansSources = ["Microsoft.Orleans.Runtime", "Microsoft.Orleans.Application"];

    public const string OrleansMeter = "Microsoft.Orleans";

    public static TBuilder AddFarmServiceDefaults<TBuilder>(this TBuilder builder, string role, Action<TracerProviderBuilder>? tracing = null)
        where TBuilder : IHostApplicationBuilder
    {
        var otlp = !string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        var otel = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("microscope-farm", serviceInstanceId: Environment.MachineName + "-" + Environment.ProcessId)
                .AddAttributes([new("microscope.role", role)]))
            .WithMetrics(metrics => metrics
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation()
                .AddMeter(OrleansMeter, FarmTelemetry.Name)
                .AddPrometheusExporter());

        // Traces are recorded only when they go somewhere (OTLP, or a test's exporter): with no
        // listener, no activity is created per request or grain call, which the serving path feels.
        if (otlp || tracing is not null)
        {
            otel.WithTracing(traces =>
            {
                traces.AddSource(FarmTelemetry.Name).AddSource(OrleansSources).AddSource("Azure.*")
                    .AddAspNetCoreInstrumentation(o => o.Filter = context => !IsProbe(context.Request.Path))
                    .AddHttpClientInstrumentation();
                tracing?.Invoke(traces);
            });
        }

        if (otlp)
        {
            otel.UseOtlpExporter();
        }

        builder.Services.AddHealthChecks().AddCheck("self", () => HealthCheckResult.Healthy(), ["live"]);
        return builder;
    }

    /// <summary>/healthz (everything registered, readiness) and /alive (liveness only), and the Prometheus scrape endpoint /metrics.</summary>
    public static WebApplication MapFarmServiceDefaults(this WebApplication app)
    {
        // GET and HEAD only: these are mapped for every method otherwise (TRACE, DELETE…).
        var read = new HttpMethodMetadata([HttpMethods.Get, HttpMethods.Head]);
        app.MapHealthChecks("/healthz", new HealthCheckOptions { ResponseWriter = HealthWriter.WriteAsync }).WithMetadata(read);
        app.MapHealthChecks("/alive", new HealthCheckOptions { Predicate = r => r.Tags.Contains("live") }).WithMetadata(read);
        app.MapPrometheusScrapingEndpoint("/metrics").WithMetadata(read);
        return app;
    }

    private static bool IsProbe(PathString path) =>
        path.StartsWithSegments("/healthz") || path.StartsWithSegments("/alive") || path.StartsWithSegments("/metrics");
}
