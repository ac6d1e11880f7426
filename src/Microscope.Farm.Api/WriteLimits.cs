using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Microscope.Farm.Api;

/// <summary>Quotas of one API key: unfinished jobs at once and work items a day (0: no limit).</summary>
public sealed class QuotaOptions
{
    public int ConcurrentJobs { get; set; } = 20;

    public long ItemsPerDay { get; set; } = 1_000_000;
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
        return new JobQuota(quota.ConcurrentJobs, quota.ItemsPerDay);
    }

    /// <summary>Write access (<see cref="WriteAccess"/>) and the write rate limit.</summary>
    public static TBuilder RequireWriteAccess<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder
    {
        builder.AddEndpointFilter(WriteAccess.Filter);
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

    /// <summary>The key (hashed: never kept as it was sent), else the caller's address.</summary>
    private static string Partition(HttpContext context)
    {
        var header = context.Request.Headers.Authorization.ToString();
        return header.Length > 0
            ? "key:" + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(header)))[..16]
            : "ip:" + context.Connection.RemoteIpAddress;
    }
}
