using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Microscope.Farm.Api;

/// <summary>
/// Who may write (and, with Farm:Api:PrivateReads, read). Keys are configured as "name:sha256-hex"
/// under Farm:Api:Keys (hashes at rest, never the keys); a request names its key as
/// "Authorization: Bearer &lt;key&gt;". With no keys configured, only loopback callers are let in
/// (the embedded default on one machine).
/// </summary>
public static class WriteAccess
{
    private const string CallerItem = "microscope.caller";

    /// <summary>
    /// The web UI keeps the signed-in key in this same-site cookie too, so that images load when reads
    /// are private. It counts for reads only: a write always names its key in the header.
    /// </summary>
    public const string KeyCookie = "microscope-key";

    /// <summary>
    /// Checks access before the endpoint runs, so before its body is bound: a write with no key and a
    /// malformed body gets 401, not the JSON reader's complaint; and the caller is named before the
    /// write rate limiter partitions by it. Endpoints say what they need with <see cref="RequireReadAccess"/>
    /// (public unless Farm:Api:PrivateReads is true) and RequireWriteAccess (the more specific wins).
    /// </summary>
    public static IApplicationBuilder UseFarmAccess(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        var refusal = context.GetEndpoint()?.Metadata.GetMetadata<AccessMetadata>() switch
        {
            { Write: true } => Check(context),
            { Write: false } when context.RequestServices.GetRequiredService<IConfiguration>().GetValue<bool>("Farm:Api:PrivateReads") => Check(context, reading: true),
            _ => null,
        };
        if (refusal is not null)
        {
            await refusal.ExecuteAsync(context);
            return;
        }

        await next(context);
    });

    /// <summary>Reads: public unless Farm:Api:PrivateReads is true, then the same rule as writes.</summary>
    public static TBuilder RequireReadAccess<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder => builder.WithMetadata(new AccessMetadata(Write: false));

    internal static TBuilder RequireWriteKey<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder => builder.WithMetadata(new AccessMetadata(Write: true));

    /// <summary>Whether the caller may write, without refusing: for reads that do more for writers (on-demand renders).</summary>
    public static bool Allows(HttpContext context) => Check(context) is null;

    /// <summary>Null when the caller is let in (and named, see <see cref="Caller"/>); else the problem to answer with.</summary>
    private static IResult? Check(HttpContext context, bool reading = false)
    {
        var what = reading ? "reads" : "writes";
        var keys = context.RequestServices.GetRequiredService<IConfiguration>().GetSection("Farm:Api:Keys").Get<string[]>() ?? [];
        if (keys.Length == 0)
        {
            if (context.Connection.RemoteIpAddress is { } ip && IPAddress.IsLoopback(ip))
            {
                context.Items[CallerItem] = "local";
                return null;
            }

            return Results.Problem($"{what} need an API key: configure Farm:Api:Keys on the server and send Authorization: Bearer <key>.", statusCode: StatusCodes.Status403Forbidden);
        }

        var key = PresentedKey(context.Request.Headers.Authorization.ToString())
            ?? (reading && context.Request.Cookies[KeyCookie] is { Length: > 0 } cookie ? Uri.UnescapeDataString(cookie) : null);
        if (key is null)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer realm=\"microscope-farm\"";
            return Results.Problem($"{what} need Authorization: Bearer <key>.", statusCode: StatusCodes.Status401Unauthorized);
        }

        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
        foreach (var entry in keys)
        {
            var (name, expected) = entry.Split(':', 2) is [var n, var h] ? (n, h.ToLowerInvariant()) : ("key", entry.ToLowerInvariant());
            if (CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(hash), Encoding.ASCII.GetBytes(expected)))
            {
                context.Items[CallerItem] = name;
                return null;
            }
        }

        return Results.Problem("the API key is not known here.", statusCode: StatusCodes.Status403Forbidden);
    }

    /// <summary>The configured name of the key the request was let in with ("local" on loopback without keys); empty before access is checked or when refused.</summary>
    public static string Caller(HttpContext context) => context.Items[CallerItem] as string ?? "";

    /// <summary>
    /// The key of "Bearer &lt;key&gt;", however the scheme is cased and with any spaces or tabs around
    /// either part (one key, one name, one quota and one rate limit, whatever its spelling); null otherwise.
    /// </summary>
    internal static string? PresentedKey(string header)
    {
        var text = header.AsSpan().Trim();
        const string scheme = "Bearer";
        if (text.Length <= scheme.Length || !text.StartsWith(scheme, StringComparison.OrdinalIgnoreCase) || !char.IsWhiteSpace(text[scheme.Length]))
        {
            return null;
        }

        var key = text[scheme.Length..].Trim();
        return key.Length > 0 ? key.ToString() : null;
    }

    private sealed record AccessMetadata(bool Write);
}
