using Microscope.Farm.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Microscope.Farm.Api;

/// <summary>/api/models: the organisms, their layers and units, and the stored lenses of each unit.</summary>
public static class ModelsApi
{
    public static RouteGroupBuilder MapModelsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/models").WithTags("models");
        group.MapGet("/", ListAsync);
        group.MapGet("/{model}", GetAsync);
        group.MapGet("/{model}/layers", LayersAsync);
        group.MapGet("/{model}/layers/{layer}", LayerAsync);
        group.MapGet("/{model}/layers/{layer}/units/{unit}", UnitAsync);
        group.MapGet("/{model}/layers/{layer}/units/{unit}/lenses/{lens}", LensAsync);
        group.MapUploadApi();
        return group;
    }

    public sealed record ModelSummary(string Id, string Version, string Title, string Source, int Layers, int Units, IReadOnlyList<string> Lenses);

    public sealed record LayerView(string Model, LayerInfo Layer, LayerState Stored);

    public sealed record LensView(string Lens, string Url, string OptionsHash, IReadOnlyDictionary<string, double> Quality, LensOptions Options, DateTimeOffset RenderedAt);

    public sealed record UnitView(string Model, string Layer, int Unit, string Permalink, IReadOnlyList<LensView> Lenses);

    public static async Task<Ok<List<ModelSummary>>> ListAsync(IGrainFactory grains)
    {
        var ids = await grains.GetGrain<IModelDirectoryGrain>(0).ListAsync();
        var models = await Task.WhenAll(ids.Select(id => grains.GetGrain<IModelGrain>(id).GetAsync()));
        return TypedResults.Ok(models.OfType<ModelInfo>().Select(m => new ModelSummary(m.Id, m.Version, m.Title, m.Source, m.Layers.Count, m.TotalUnits, m.Lenses)).ToList());
    }

    public static async Task<Ok<ModelInfo>> GetAsync(IGrainFactory grains, string model) => TypedResults.Ok(await ModelAsync(grains, model));

    public static async Task<Ok<IReadOnlyList<LayerInfo>>> LayersAsync(IGrainFactory grains, string model) => TypedResults.Ok((await ModelAsync(grains, model)).Layers);

    public static async Task<Ok<LayerView>> LayerAsync(IGrainFactory grains, string model, string layer)
    {
        var info = (await ModelAsync(grains, model)).Layer(FarmIds.Check(layer, "layer"));
        var stored = await grains.GetGrain<ILayerGrain>(FarmIds.Layer(model, layer)).GetAsync();
        return TypedResults.Ok(new LayerView(model, info, stored));
    }

    public static async Task<Ok<UnitView>> UnitAsync(IGrainFactory grains, string model, string layer, string unit)
    {
        var (_, number) = await CheckUnitAsync(grains, model, layer, unit);
        var state = await grains.GetGrain<IUnitGrain>(FarmIds.Unit(model, layer, number)).GetAsync();
        var prefix = $"/api/models/{model}/layers/{layer}/units/{number}";
        return TypedResults.Ok(new UnitView(model, layer, number, $"/models/{model}/layers/{layer}/units/{number}",
            [.. state.Lenses.Select(l => new LensView(l.Lens, $"{prefix}/lenses/{l.Lens}?options={l.OptionsHash}", l.OptionsHash, l.Quality, l.Options, l.RenderedAt))]));
    }

    /// <summary>The lens's image (the newest render, or the one with ?options=hash); 202 while it is not rendered yet.</summary>
    public static async Task<IResult> LensAsync(IGrainFactory grains, ILensStore store, HttpContext context, string model, string layer, string unit, string lens, string? options)
    {
        var (_, number) = await CheckUnitAsync(grains, model, layer, unit);
        var kind = FarmLenses.Get(lens);
        var state = await grains.GetGrain<IUnitGrain>(FarmIds.Unit(model, layer, number)).GetAsync();
        var layerLenses = kind.Scope == LensScope.Layer ? (await grains.GetGrain<ILayerGrain>(FarmIds.Layer(model, layer)).GetAsync()).LayerLenses : state.Lenses;
        var record = layerLenses.Where(l => l.Lens == kind.Name && (options is null || l.OptionsHash == options)).MaxBy(l => l.RenderedAt);
        if (record is null)
        {
            context.Response.Headers.RetryAfter = "30";
            return TypedResults.Json(new { status = "pending", model, layer, unit = number, lens = kind.Name, detail = "not rendered yet; submit a job (POST /api/jobs) or wait for the running one" }, statusCode: StatusCodes.Status202Accepted);
        }

        var blob = await store.GetAsync(record.ImagePath, context.RequestAborted);
        if (blob is null)
        {
            throw new FarmNotFoundException($"the stored {kind.Name} of {model}/{layer}/{number} is missing from the lens store ({record.ImagePath}).");
        }

        context.Response.Headers.CacheControl = "public, max-age=31536000, immutable";
        return TypedResults.File(blob.Content.ToArray(), blob.ContentType, entityTag: new Microsoft.Net.Http.Headers.EntityTagHeaderValue(blob.ETag), enableRangeProcessing: true);
    }

    private static async Task<ModelInfo> ModelAsync(IGrainFactory grains, string model) =>
        await grains.GetGrain<IModelGrain>(FarmIds.Check(model, "model")).GetAsync()
        ?? throw new FarmNotFoundException($"there is no model '{model}'.");

    private static async Task<(LayerInfo Layer, int Unit)> CheckUnitAsync(IGrainFactory grains, string model, string layer, string unit)
    {
        var info = (await ModelAsync(grains, model)).Layer(FarmIds.Check(layer, "layer"));
        var number = FarmIds.ParseUnitNumber(unit);
        return number < info.Units ? (info, number)
            : throw new FarmNotFoundException($"layer '{layer}' of '{model}' has {info.Units} units (0 to {info.Units - 1}); there is no unit {number}.");
    }
}
