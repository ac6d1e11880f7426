using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Microscope.Farm.Api;

/// <summary>
/// Who may write. Keys are configured as "name:sha256-hex" under Farm:Api:Keys (hashes at rest,
/// never the keys); a request names its key as "Authorization: Bearer &lt;key&gt;". With no keys
/// configured, writes are taken only from loopback (the embedded default on one machine).
/// </summary>
public static class WriteAccess
{
    private const string CallerItem = "microscope.caller";

    public static async ValueTask<object?> Filter(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        var context = invocation.HttpContext;
        var keys = context.RequestServices.GetRequiredService<IConfiguration>().GetSection("Farm:Api:Keys").Get<string[]>() ?? [];
        if (keys.Length == 0)
        {
            if (context.Connection.RemoteIpAddress is { } ip && IPAddress.IsLoopback(ip))
            {
                context.Items[CallerItem] = "local";
                return await next(invocation);
            }

            return Results.Problem("writes need an API key: configure Farm:Api:Keys on the server and send Authorization: Bearer <key>.", statusCode: StatusCodes.Status403Forbidden);
        }

        var header = context.Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.Ordinal))
        {
            return Results.Problem("this write needs Authorization: Bearer <key>.", statusCode: StatusCodes.Status401Unauthorized);
        }

        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(header["Bearer ".Length..].Trim())));
        foreach (var entry in keys)
        {
            var (name, expected) = entry.Split(':', 2) is [var n, var h] ? (n, h.ToLowerInvariant()) : ("key", entry.ToLowerInvariant());
            if (CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(hash), Encoding.ASCII.GetBytes(expected)))
            {
                context.Items[CallerItem] = name;
                return await next(invocation);
            }
        }

        return Results.Problem("the API key is not known here.", statusCode: StatusCodes.Status403Forbidden);
    }

    public static string Caller(HttpContext context) => context.Items[CallerItem] as string ?? "";
}
