using System.Net;
using System.Security.Cryptography;
using System.Text;
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

    /// <summary>Endpoint filter for writes.</summary>
    public static async ValueTask<object?> Filter(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next) =>
        Check(invocation.HttpContext) ?? await next(invocation);

    /// <summary>Endpoint filter for reads: public unless Farm:Api:PrivateReads is true, then the same rule as writes.</summary>
    public static async ValueTask<object?> ReadFilter(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        var configuration = invocation.HttpContext.RequestServices.GetRequiredService<IConfiguration>();
        return configuration.GetValue<bool>("Farm:Api:PrivateReads") ? Check(invocation.HttpContext, reading: true) ?? await next(invocation) : await next(invocation);
    }

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

        var header = context.Request.Headers.Authorization.ToString();
        var key = header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header["Bearer ".Length..].Trim()
            : reading && context.Request.Cookies[KeyCookie] is { Length: > 0 } cookie ? Uri.UnescapeDataString(cookie) : null;
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

    public static string Caller(HttpContext context) => context.Items[CallerItem] as string ?? "";
}
