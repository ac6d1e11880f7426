using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Microscope.Farm.Api;

/// <summary>Quotas of one API key: unfinished jobs at once, work items a day, and the size of one job (0: no limit).</summary>
public sealed class QuotaOptions
{
    public int ConcurrentJobs { get; set; } = 20;

    public long ItemsPerDay { get; set; } = 1_000_000;

    /// <summary>Work items in one job: every unit of a resnet50 one unit per item, for one lens, fits.</summary>
    public int ItemsPerJob { get; set; } = 50_000;

    /// <summary>
    /// Render cost of one job in unit-steps at 128 px (units × steps × (size/128)², summed over items):
    /// every unit of resnet50 (about 26,000) with four gradient lenses at 2048 steps and 256 px is 8.5×10¹¹ and fits.
    /// </summary>
    public double CostPerJob { get; set; } = 1e12;
}

/// <summary>
/// What writers may do: quotas per API key (Farm:Api:Quotas, with Farm:Api:Quotas:Keys:{name} for
/// one key), checked by the job directory as it submits; and a rate limit on every write
/// (Farm:Api:WritesPerMinute per key, or per address without one), answered 429 with Retry-After.
/// </summary>
public static class WriteLimits
{
    public const string Policy = "writes";

    public static JobQuota QuotaFor(IConfiguration configuration, string caller)
    {
        var quota = configuration.GetSection("Farm:Api:Quotas").Get<QuotaOptions>() ?? new QuotaOptions();
        configuration.GetSection($"Farm:Api:Quotas:Keys:{caller}").Bind(quota);
        return new JobQuota(quota.ConcurrentJobs, quota.ItemsPerDay, quota.ItemsPerJob, quota.CostPerJob);
    }

    /// <summary>Write access (<see cref="WriteAccess"/>) and the write rate limit.</summary>
    public static TBuilder RequireWriteAccess<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder
    {
        builder.RequireWriteKey();
        return builder.RequireRateLimiting(Policy);
    }

    public static IServiceCollection AddWriteRateLimit(this IServiceCollection services) =>
        services.AddRateLimiter(limiter =>
        {
            limiter.AddPolicy(Policy, context =>
            {
                var perMinute = context.RequestServices.GetRequiredService<IConfiguration>().GetValue("Farm:Api:WritesPerMinute", 120);
                return perMinute <= 0
                    ? RateLimitPartition.GetNoLimiter("unlimited")
                    : RateLimitPartition.GetTokenBucketLimiter(Partition(context), _ => new TokenBucketRateLimiterOptions
                    {
                        TokenLimit = perMinute,
                        TokensPerPeriod = perMinute,
                        ReplenishmentPeriod = TimeSpan.FromMinutes(1),
                        QueueLimit = 0,
                        AutoReplenishment = true,
                    });
            });
            limiter.OnRejected = async (rejected, cancellationToken) =>
            {
                var retry = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromSeconds(60);
                rejected.HttpContext.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retry.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
                await Results.Problem("too many writes from this key; the limit is Farm:Api:WritesPerMinute. Try again after Retry-After seconds.",
                    statusCode: StatusCodes.Status429TooManyRequests, title: "Too many requests").ExecuteAsync(rejected.HttpContext);
            };
        });

    /// <summary>
    /// The key's configured name, as access resolved it (UseFarmAccess runs first), so that "bearer k",
    /// "BEARER k" and "Bearer  k" share one limit; else the caller's address.
    /// </summary>
    private static string Partition(HttpContext context) =>
        WriteAccess.Caller(context) is { Length: > 0 } caller ? "key:" + caller : "ip:" + context.Connection.RemoteIpAddress;
}
