using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;

namespace Microscope.Farm.Api;

/// <summary>/api/jobs: submit (idempotent on the client token), list, follow, pause, resume, cancel, reprioritize.</summary>
public static class JobsApi
{
    public static RouteGroupBuilder MapJobsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/jobs").WithTags("jobs").AddEndpointFilter(WriteAccess.ReadFilter);
        group.MapRead("/", ListAsync);
        group.MapRead("/{job}", GetAsync);
        group.MapPost("/", SubmitAsync).RequireWriteAccess();
        group.MapPost("/{job}/pause", (IGrainFactory grains, string job) => ChangeAsync(grains, job, j => j.PauseAsync())).RequireWriteAccess();
        group.MapPost("/{job}/resume", (IGrainFactory grains, string job) => ChangeAsync(grains, job, j => j.ResumeAsync())).RequireWriteAccess();
        group.MapPost("/{job}/cancel", (IGrainFactory grains, string job) => ChangeAsync(grains, job, j => j.CancelAsync())).RequireWriteAccess();
        group.MapPut("/{job}/priority", (IGrainFactory grains, string job, PriorityChange change) => ChangeAsync(grains, job, j => j.SetPriorityAsync(change.Priority))).RequireWriteAccess();
        return group;
    }

    public sealed record PriorityChange(int Priority);

    public static async Task<Ok<IReadOnlyList<JobStatus>>> ListAsync(IGrainFactory grains) =>
        TypedResults.Ok(await grains.GetGrain<IJobDirectoryGrain>(0).ListAsync());

    public static async Task<Ok<JobStatus>> GetAsync(IGrainFactory grains, string job) =>
        TypedResults.Ok(await Job(grains, job).GetStatusAsync());

    public static async Task<Created<JobStatus>> SubmitAsync(IGrainFactory grains, IConfiguration configuration, HttpContext context, JobSpec spec)
    {
        var caller = WriteAccess.Caller(context);
        var status = await grains.GetGrain<IJobDirectoryGrain>(0).SubmitWithinQuotaAsync(spec with { Owner = caller }, WriteLimits.QuotaFor(configuration, caller));
        return TypedResults.Created($"/api/jobs/{WebUtility.UrlEncode(status.Id)}", status);
    }

    private static async Task<Ok<JobStatus>> ChangeAsync(IGrainFactory grains, string job, Func<IJobGrain, Task<JobStatus>> change) =>
        TypedResults.Ok(await change(Job(grains, job)));

    private static IJobGrain Job(IGrainFactory grains, string job) => grains.GetGrain<IJobGrain>(FarmIds.Check(job, "job"));
}
