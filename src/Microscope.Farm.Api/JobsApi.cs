using System.Net;
using System.Text.Json.Serialization;
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
        var group = routes.MapGroup("/api/jobs").WithTags("jobs").RequireReadAccess();
        group.MapRead("/", ListAsync);
        group.MapRead("/{job}", GetAsync);
        group.MapPost("/", SubmitAsync).RequireWriteAccess();
        group.MapPost("/{job}/pause", (IGrainFactory grains, string job) => ChangeAsync(grains, job, j => j.PauseAsync())).RequireWriteAccess();
        group.MapPost("/{job}/resume", (IGrainFactory grains, string job) => ChangeAsync(grains, job, j => j.ResumeAsync())).RequireWriteAccess();
        group.MapPost("/{job}/cancel", (IGrainFactory grains, string job) => ChangeAsync(grains, job, j => j.CancelAsync())).RequireWriteAccess();
        group.MapPut("/{job}/priority", (IGrainFactory grains, string job, PriorityChange change) => ChangeAsync(grains, job, j => j.SetPriorityAsync(change.Priority))).RequireWriteAccess();
        return group;
    }

    /// <summary>The body of PUT /api/jobs/{job}/priority: <c>{"priority": n}</c>, nothing missing and nothing else (a misspelt field must not reset the priority to 0).</summary>
    [JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
    public sealed record PriorityChange([property: JsonRequired] int Priority);

    /// <summary>Jobs a listing page holds unless ?limit= says otherwise, and the most it may ask for.</summary>
    public const int DefaultPageSize = 50, MaxPageSize = 500;

    /// <summary>
    /// A job in the listing: its state and counts, and what it renders in brief (model, lenses, how many
    /// layers and units, with units as compact ranges); the full spec is at GET /api/jobs/{job}.
    /// </summary>
    public sealed record JobSummary(string Id, string Model, IReadOnlyList<string> Lenses, int Layers, string Units, int Priority, JobState State,
        JobCounts Counts, DateTimeOffset SubmittedAt, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt, double? EtaSeconds,
        IReadOnlyList<ItemFailure> Failures, long Renders, long Retries, long LeaseExpirations, bool Intake = false)
    {
        /// <summary>Failures a listed job shows; the job's own page has them all.</summary>
        public const int ListedFailures = 5;

        public static JobSummary Of(JobStatus s) => new(s.Id, s.Spec.Model, s.Spec.Lenses, s.Spec.Layers.Count, UnitRanges.Format(s.Spec.Units), s.Spec.Priority, s.State,
            s.Counts, s.SubmittedAt, s.StartedAt, s.FinishedAt, s.EtaSeconds, [.. s.Failures.Take(ListedFailures)], s.Renders, s.Retries, s.LeaseExpirations, s.Spec.Intake);
    }

    /// <summary>
    /// A page of jobs, newest first: ?limit= (1 to 500, 50 by default) after ?offset= (0 by default).
    /// A Link header (rel="next") names the next page while there may be one.
    /// </summary>
    public static async Task<Results<Ok<JobSummary[]>, ProblemHttpResult>> ListAsync(IGrainFactory grains, HttpContext context, string? limit = null, string? offset = null)
    {
        if (!TryPage(limit, DefaultPageSize, 1, MaxPageSize, out var take) || !TryPage(offset, 0, 0, int.MaxValue, out var skip))
        {
            return TypedResults.Problem($"page with ?limit= (1 to {MaxPageSize}, {DefaultPageSize} by default) and ?offset= (0 or more), both whole numbers.",
                statusCode: StatusCodes.Status400BadRequest, title: "Bad request");
        }

        var page = await grains.GetGrain<IJobDirectoryGrain>(0).ListAsync(skip, take);
        if (page.Count == take && skip <= int.MaxValue - take)
        {
            context.Response.Headers.Link = $"</api/jobs?limit={take}&offset={skip + take}>; rel=\"next\"";
        }

        return TypedResults.Ok(page.Select(JobSummary.Of).ToArray());
    }

    private static bool TryPage(string? text, int fallback, int min, int max, out int value)
    {
        value = fallback;
        return text is null || int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out value) && value >= min && value <= max;
    }

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
