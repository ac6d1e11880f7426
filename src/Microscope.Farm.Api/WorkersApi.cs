using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Microscope.Farm.Api;

/// <summary>/api/workers: the render workers (device, slots, tags, load, last seen), and drain or undrain of a silo by an operator.</summary>
public static class WorkersApi
{
    public static RouteGroupBuilder MapWorkersApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/workers").WithTags("workers").RequireReadAccess();
        group.MapRead("/", ListAsync);
        group.MapPost("/{silo}/drain", (IGrainFactory grains, string silo) => DrainAsync(grains, silo, true)).RequireWriteAccess();
        group.MapPost("/{silo}/undrain", (IGrainFactory grains, string silo) => DrainAsync(grains, silo, false)).RequireWriteAccess();
        return group;
    }

    public static async Task<Ok<IReadOnlyList<WorkerView>>> ListAsync(IGrainFactory grains) =>
        TypedResults.Ok(await grains.GetGrain<IWorkerRegistryGrain>(0).ListAsync());

    /// <summary>The silo (its name, or one of its worker ids) takes no more work within one heartbeat; running items finish.</summary>
    public static async Task<Ok<IReadOnlyList<WorkerView>>> DrainAsync(IGrainFactory grains, string silo, bool drain) =>
        TypedResults.Ok(await grains.GetGrain<IWorkerRegistryGrain>(0).SetDrainingAsync(FarmIds.Check(silo, "silo"), drain));
}
