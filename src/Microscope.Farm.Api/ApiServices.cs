using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
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

        // A body or parameter that does not bind is thrown as BadHttpRequestException, which the
        // exception handler (Problems) answers with problem details saying what was wrong.
        services.Configure<Microsoft.AspNetCore.Routing.RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
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

    /// <summary>GET and HEAD, for routes mapped by a library with GET alone: the last method metadata is the one routing uses.</summary>
    public static readonly HttpMethodMetadata ReadMethods = new([HttpMethods.Get, HttpMethods.Head]);

    /// <summary>A read route: GET, and HEAD with the same headers and no body (RFC 9110 §9.3.2).</summary>
    internal static RouteHandlerBuilder MapRead(this IEndpointRouteBuilder routes, string pattern, Delegate handler) =>
        routes.MapMethods(pattern, [HttpMethods.Get, HttpMethods.Head], handler);

    /// <summary>Every API route group, the OpenAPI document at /api/openapi.json and the interactive reference (Scalar) at /api/docs.</summary>
    public static IEndpointRouteBuilder MapFarmApi(this IEndpointRouteBuilder routes)
    {
        routes.MapModelsApi();
        routes.MapGraphApi();
        routes.MapLensesApi();
        routes.MapJobsApi();
        routes.MapWorkersApi();
        // HEAD wherever GET is served: the same headers, no body (Kestrel sends none for HEAD).
        routes.MapOpenApi(OpenApiPath).WithMetadata(ReadMethods);
        routes.MapScalarApiReference("/api/docs", o => o.WithOpenApiRoutePattern(OpenApiPath).WithTitle("Microscope Farm API")).WithMetadata(ReadMethods);
        return routes;
    }
}
