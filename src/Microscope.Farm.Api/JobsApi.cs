using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Microscope.Farm.Api;

/// <summary>/api/jobs: submit (idempotent on the client token), list, follow, pause, resume, cancel, reprioritize.</summary>
public static class JobsApi
{
    public static RouteGroupBuilder MapJobsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/jobs").WithTags("jobs").AddEndpointFilter(WriteAccess.ReadFilter);
        group.MapGet("/", ListAsync);
        group.MapGet("/{job}", GetAsync);
        group.MapPost("/", SubmitAsync).AddEndpointFilter(WriteAccess.Filter);
        group.MapPost("/{job}/pause", (IGrainFactory grains, string job) => ChangeAsync(grains, job, j => j.PauseAsync())).AddEndpointFilter(WriteAccess.Filter);
        group.MapPost("/{job}/resume", (IGrainFactory grains, string job) => ChangeAsync(grains, job, j => j.ResumeAsync())).AddEndpointFilter(WriteAccess.Filter);
        group.MapPost("/{job}/cancel", (IGrainFactory grains, string job) => ChangeAsync(grains, job, j => j.CancelAsync())).AddEndpointFilter(WriteAccess.Filter);
        group.MapPut("/{job}/priority", (IGrainFactory grains, string job, PriorityChange change) => ChangeAsync(grains, job, j => j.SetPriorityAsync(change.Priority))).AddEndpointFilter(WriteAccess.Filter);
        return group;
    }

    public sealed record PriorityChange(int Priority);

    public static async Task<Ok<IReadOnlyList<JobStatus>>> ListAsync(IGrainFactory grains) =>
        TypedResults.Ok(await grains.GetGrain<IJobDirectoryGrain>(0).ListAsync());

    public static async Task<Ok<JobStatus>> GetAsync(IGrainFactory grains, string job) =>
        TypedResults.Ok(await Job(grains, job).GetStatusAsync());

    public static async Task<Created<JobStatus>> SubmitAsync(IGrainFactory grains, HttpContext context, JobSpec spec)
    {
        var status = await grains.GetGrain<IJobDirectoryGrain>(0).SubmitAsync(spec with { Owner = WriteAccess.Caller(context) });
        return TypedResults.Created($"/api/jobs/{WebUtility.UrlEncode(status.Id)}", status);
    }

    private static async Task<Ok<JobStatus>> ChangeAsync(IGrainFactory grains, string job, Func<IJobGrain, Task<JobStatus>> change) =>
        TypedResults.Ok(await change(Job(grains, job)));

    private static IJobGrain Job(IGrainFactory grains, string job) => grains.GetGrain<IJobGrain>(FarmIds.Check(job, "job"));
}
