using Microscope.Farm.Grains;
using Microscope.Inference;
using Microscope.Farm.Rendering;
using Microscope.Farm.Storage;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Microscope.Farm.Host;

/// <summary>The lens store and, on render silos, the render engine and worker, from configuration.</summary>
internal static class FarmServices
{
    public static IServiceCollection AddFarmLensStore(this IServiceCollection services, FarmHostOptions farm)
    {
        services.AddSingleton<ILensStore>(sp =>
        {
            ILensStore inner = farm.Store.Kind == "blob"
                ? BlobLensStore.Create(AzureStorage.Blobs(farm.Store), farm.Store.Container)
                : new FileSystemLensStore(Path.Combine(Path.GetFullPath(farm.Store.Path), "lenses"));
            return new ResilientLensStore(inner, new RetryPolicy { Budget = farm.Store.RetryBudget }, sp.GetRequiredService<ILogger<ResilientLensStore>>());
        });
        return services;
    }

    public static IServiceCollection AddFarmRendering(this IServiceCollection services, FarmHostOptions farm, IConfiguration configuration)
    {
        var siloName = $"{Environment.MachineName}-{farm.Cluster.SiloPort}";

        // Model intake (uploads and the configured organisms) runs here, within the catalog's probe limits, checked at start.
        var probe = (configuration.GetSection("Farm:Catalog").Get<ProbeLimits>() ?? ProbeLimits.Default).Validate();
        services.AddRenderWorker(siloName, o => configuration.GetSection(RenderWorkerOptions.Section).Bind(o));
        if (farm.Engine.Kind == "simulated")
        {
            services.AddSingleton<IRenderEngine>(sp => Intake(sp, probe, new SimulatedRenderEngine(sp.GetRequiredService<ILensStore>(), TimeSpan.FromMilliseconds(farm.Engine.SimulatedMilliseconds), farm.Engine.JournalFolder, datasets: [.. farm.Engine.Datasets.Keys])));
        }
        else
        {
            services.AddSingleton<RenderDevice>();
            services.AddSingleton(sp => new ModelCache(sp.GetRequiredService<ILensStore>(),
                farm.Engine.CacheFolder ?? Path.Combine(Path.GetFullPath(farm.Store.Path), "cache"),
                sp.GetRequiredService<RenderDevice>().Settings, sp.GetRequiredService<ILogger<ModelCache>>()));
            services.AddSingleton<IRenderEngine>(sp => Intake(sp, probe, new LensRenderEngine(sp.GetRequiredService<ILensStore>(), sp.GetRequiredService<ModelCache>(),
                new RenderEngineOptions
                {
                    Datasets = farm.Engine.Datasets,
                    JournalFolder = farm.Engine.JournalFolder,
                    Sizing = farm.Render.Sizing(sp.GetRequiredService<IOptions<RenderWorkerOptions>>().Value.Slots),
                },
                sp.GetRequiredService<ILogger<LensRenderEngine>>())));

            // The worker advertises (and /healthz reports) the device sessions really get, not the one asked for.
            services.AddOptions<RenderWorkerOptions>().PostConfigure<RenderDevice>((o, device) => o.Device = device.Settings.Device.ToString());
        }

        services.AddHealthChecks().AddCheck<RenderHealth>("render", tags: ["ready"]);
        return services;
    }

    private static ModelIntakeEngine Intake(IServiceProvider services, ProbeLimits probe, IRenderEngine lenses) =>
        new(lenses, services.GetRequiredService<ILensStore>(), services.GetRequiredService<IGrainFactory>(), probe);

    /// <summary>Probes the render device before the silo starts; false when it refused (the reason is logged as one critical line).</summary>
    public static bool RenderDeviceReady(this IServiceProvider services)
    {
        try
        {
            services.GetService<RenderDevice>();
            return true;
        }
        catch (DeviceUnavailableException)
        {
            return false;
        }
    }

    /// <summary>
    /// The render silo's device, probed once at start: cuda:N when its libraries load; otherwise one
    /// warning line naming the missing library and CPU (Farm:Render:CudaFallback=cpu), or the silo
    /// does not start (refuse).
    /// </summary>
    private sealed class RenderDevice
    {
        public RenderDevice(FarmHostOptions farm, ILoggerFactory loggers)
        {
            var render = farm.Render;
            var asked = new SessionSettings
            {
                Device = ExecutionDevice.Parse(render.Device),
                RequireDevice = render.CudaFallback == "refuse",
                CudaMemoryLimit = render.CudaMemoryMegabytes * 1024 * 1024,
                IntraOpThreads = render.IntraOpThreads,
                Loop = Enum.Parse<RenderLoop>(render.Loop, ignoreCase: true),
            };
            var logger = loggers.CreateLogger("Microscope.Farm.Render.Device");
            try
            {
                var device = DeviceProbe.Probe(new SessionFactory(asked, logger));
                Settings = asked with { Device = device };
            }
            catch (DeviceUnavailableException e)
            {
                logger.LogCritical("Render silo refuses to start (Farm:Render:CudaFallback=refuse): {Reason}", e.Message);
                throw;
            }

            logger.LogInformation("Render device: {Device} (asked for {Asked}), {Loop} render loop", Settings.Device, asked.Device, Settings.ResidentLoop ? "device" : "host");
        }

        public SessionSettings Settings { get; }
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
