using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microscope.Farm.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Scalar.AspNetCore;

namespace Microscope.Farm.Api;

/// <summary>What the API's handlers need, and the API's routes with their OpenAPI document and reference.</summary>
public static class ApiServices
{
    public const string OpenApiPath = "/api/openapi.json";

    public static IServiceCollection AddFarmApi(this IServiceCollection services)
    {
        // Enums as names: job states read "Running", not 1.
        services.ConfigureHttpJsonOptions(o => o.SerializerOptions.Converters.Add(new JsonStringEnumConverter()));
        services.AddProblemDetails();
        services.AddWriteRateLimit();
        services.AddSingleton(sp => new LensCache(
            new ImmutableBlobCache(sp.GetRequiredService<ILensStore>(), sp.GetRequiredService<IConfiguration>().GetValue("Farm:Api:LensCacheMegabytes", 256L) * 1024 * 1024),
            TimeSpan.FromSeconds(2), TimeProvider.System));
        services.AddOpenApi(o => o.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "Microscope Farm API";
            document.Info.Description = "Model organisms, their layers and units, the stored lenses of every unit, and render jobs. See docs/api.md.";
            return Task.CompletedTask;
        }));
        return services;
    }

    /// <summary>Every API route group, the OpenAPI document at /api/openapi.json and the interactive reference (Scalar) at /api/docs.</summary>
    public static IEndpointRouteBuilder MapFarmApi(this IEndpointRouteBuilder routes)
    {
        routes.MapModelsApi();
        routes.MapJobsApi();
        routes.MapWorkersApi();
        routes.MapOpenApi(OpenApiPath);
        routes.MapScalarApiReference("/api/docs", o => o.WithOpenApiRoutePattern(OpenApiPath).WithTitle("Microscope Farm API"));
        return routes;
    }
}
