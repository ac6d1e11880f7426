using System.Collections.Frozen;
using System.Reflection;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Net.Http.Headers;

namespace Microscope.Farm.Api;

/// <summary>
/// The web UI: a page shell and a few plain JavaScript modules and CSS, embedded in this assembly
/// (wwwroot/), served under /ui/ with strong ETags. Every view has its own URL (/, /models/…, /jobs),
/// answered with the same shell; the script reads the URL and renders the view from /api.
/// </summary>
public static class UiEndpoints
{
    private const string Prefix = "wwwroot/";

    private static readonly FrozenDictionary<string, UiAsset> Assets = Load();

    public static IEndpointRouteBuilder MapFarmUi(this IEndpointRouteBuilder routes)
    {
        var shell = Assets["index.html"];
        var ui = routes.MapGroup("").WithTags("ui").ExcludeFromDescription();
        ui.MapRead("/ui/{file}", Asset);
        foreach (var pattern in (string[])["/", "/models", "/models/{**path}", "/jobs", "/jobs/{**path}"])
        {
            ui.MapRead(pattern, (HttpContext context) => Serve(context, shell));
        }

        return routes;
    }

    public static Results<FileContentHttpResult, NotFound> Asset(HttpContext context, string file) =>
        Assets.TryGetValue(file, out var asset) && file != "index.html" ? Serve(context, asset) : TypedResults.NotFound();

    /// <summary>Revalidated on every use (no-cache) and answered 304 while unchanged: a reload after an upgrade never mixes versions.</summary>
    private static FileContentHttpResult Serve(HttpContext context, UiAsset asset)
    {
        context.Response.Headers.CacheControl = "no-cache";
        context.Response.Headers.XContentTypeOptions = "nosniff";
        return TypedResults.File(asset.Content, asset.ContentType, entityTag: asset.ETag);
    }

    private static FrozenDictionary<string, UiAsset> Load()
    {
        var assembly = typeof(UiEndpoints).Assembly;
        return assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(Prefix, StringComparison.Ordinal))
            .ToFrozenDictionary(n => n[Prefix.Length..], n => UiAsset.Read(assembly, n), StringComparer.Ordinal);
    }

    private sealed record UiAsset(byte[] Content, string ContentType, EntityTagHeaderValue ETag)
    {
        public static UiAsset Read(Assembly assembly, string name)
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            var content = buffer.ToArray();
            var type = Path.GetExtension(name) switch
            {
                ".html" => "text/html; charset=utf-8",
                ".js" => "text/javascript; charset=utf-8",
                ".css" => "text/css; charset=utf-8",
                ".svg" => "image/svg+xml",
                _ => "application/octet-stream",
            };
            return new UiAsset(content, type, new EntityTagHeaderValue($"\"{Convert.ToHexStringLower(SHA256.HashData(content))[..16]}\""));
        }
    }
}
