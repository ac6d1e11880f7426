using System.Text.Json.Serialization;
using Microsoft.Extensions.DependencyInjection;

namespace Microscope.Farm.Api;

/// <summary>What the API's handlers need: JSON with enums as names (job states read "Running", not 1).</summary>
public static class ApiServices
{
    public static IServiceCollection AddFarmApi(this IServiceCollection services)
    {
        services.ConfigureHttpJsonOptions(o => o.SerializerOptions.Converters.Add(new JsonStringEnumConverter()));
        services.AddProblemDetails();
        return services;
    }
}
