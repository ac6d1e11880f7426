using Microscope.Farm.Grains;
using Microscope.Inference;
using Microscope.Farm.Rendering;
using Microscope.Farm.Storage;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Microscope.Farm.Host;

/// <summary>The lens store and, on render silos, the render engine and worker, from configuration.</summary>
internal static class FarmServices
{
    public static IServiceCollection AddFarmLensStore(this IServiceCollection services, FarmHostOptions farm)
    {
        services.AddSingleton<ILensStore>(sp =>
        {
            ILensStore inner = farm.Store.Kind == "blob"
                ? BlobLensStore.Create(farm.Store.ConnectionString!, farm.Store.Container)
                : new FileSystemLensStore(Path.Combine(Path.GetFullPath(farm.Store.Path), "lenses"));
            return new ResilientLensStore(inner, new RetryPolicy { Budget = farm.Store.RetryBudget }, sp.GetRequiredService<ILogger<ResilientLensStore>>());
        });
        return services;
    }

    public static IServiceCollection AddFarmRendering(this IServiceCollection services, FarmHostOptions farm, IConfiguration configuration)
    {
        var siloName = $"{Environment.MachineName}-{farm.Cluster.SiloPort}";
        services.AddRenderWorker(siloName, o => configuration.GetSection(RenderWorkerOptions.Section).Bind(o));
        if (farm.Engine.Kind == "simulated")
        {
            services.AddSingleton<IRenderEngine>(sp => new SimulatedRenderEngine(sp.GetRequiredService<ILensStore>(), TimeSpan.FromMilliseconds(farm.Engine.SimulatedMilliseconds), farm.Engine.JournalFolder));
        }
        else
        {
            var device = ExecutionDevice.Parse(configuration["Farm:Render:Device"] ?? "cpu");
            services.AddSingleton(sp => new ModelCache(sp.GetRequiredService<ILensStore>(),
                farm.Engine.CacheFolder ?? Path.Combine(Path.GetFullPath(farm.Store.Path), "cache"),
                new SessionSettings { Device = device }, sp.GetRequiredService<ILogger<ModelCache>>()));
            services.AddSingleton<IRenderEngine>(sp => new LensRenderEngine(sp.GetRequiredService<ILensStore>(), sp.GetRequiredService<ModelCache>(),
                new RenderEngineOptions { Datasets = farm.Engine.Datasets, JournalFolder = farm.Engine.JournalFolder }));
        }

        services.AddHealthChecks().AddCheck<RenderHealth>("render", tags: ["ready"]);
        return services;
    }

    /// <summary>The worker's device, slots and load, for /healthz.</summary>
    private sealed class RenderHealth(RenderWorker worker) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(HealthCheckResult.Healthy(worker.Draining ? "draining" : "taking work", new Dictionary<string, object>
            {
                ["worker"] = worker.Info.Id,
                ["device"] = worker.Info.Device,
                ["slots"] = worker.Info.Slots,
                ["running"] = worker.Running,
                ["tags"] = string.Join(",", worker.Info.Tags),
            }));
    }
}
