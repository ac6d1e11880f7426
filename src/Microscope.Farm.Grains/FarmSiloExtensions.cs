using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Microscope.Farm.Grains;

/// <summary>Adds the farm's grains and, on render silos, the render worker.</summary>
public static class FarmSiloExtensions
{
    /// <summary>The grains' options and clock, and trace propagation across grain calls. Storage providers are the host's choice.</summary>
    public static ISiloBuilder AddFarmGrains(this ISiloBuilder silo, Action<SchedulingOptions>? configure = null)
    {
        silo.Services.TryAddSingleton(TimeProvider.System);
        silo.Services.AddMetrics();
        silo.Services.TryAddSingleton<QueueDepth>();
        var options = silo.Services.AddOptions<SchedulingOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        silo.AddActivityPropagation();
        return silo;
    }

    /// <summary>A render worker for this silo; an <see cref="IRenderEngine"/> must be registered too.</summary>
    public static IServiceCollection AddRenderWorker(this IServiceCollection services, string silo, Action<RenderWorkerOptions>? configure = null)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddMetrics();
        services.TryAddSingleton<RenderSlots>();
        var options = services.AddOptions<RenderWorkerOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.AddOptions<SchedulingOptions>();
        services.AddSingleton(WorkerIdentity.Create(silo));
        services.AddSingleton<RenderWorker>();
        services.AddHostedService(sp => sp.GetRequiredService<RenderWorker>());
        return services;
    }
}
