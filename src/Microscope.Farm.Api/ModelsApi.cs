using Microscope.Farm.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Microscope.Farm.Api;

/// <summary>/api/models: the organisms, their layers and units, and the stored lenses of each unit.</summary>
public static class ModelsApi
{
    public static RouteGroupBuilder MapModelsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/models").WithTags("models").RequireReadAccess();
        group.MapRead("/", ListAsync);
        group.MapRead("/{model}", GetAsync);
        group.MapRead("/{model}/layers", LayersAsync);
        group.MapRead("/{model}/layers/{layer}", LayerAsync);
        group.MapRead("/{model}/layers/{layer}/units/{unit}", UnitAsync);
        group.MapRead("/{model}/layers/{layer}/units/{unit}/lenses/{lens}", LensAsync);
        group.MapUploadApi();
        return group;
    }

    /// <summary>A model in the list; <c>RenderedUnits</c> counts units with any stored lens, <c>RenderedByLens</c> units with each lens.</summary>
    public sealed record ModelSummary(string Id, string Version, string Title, string Source, int Layers, int Units, IReadOnlyList<string> Lenses,
        int RenderedUnits, IReadOnlyDictionary<string, int> RenderedByLens);

    /// <summary>A layer in graph order with what is rendered of it.</summary>
    public sealed record LayerOverview(string Id, string Op, IReadOnlyList<int> Shape, int Index, int Units,
        int RenderedUnits, IReadOnlyDictionary<string, int> RenderedByLens, IReadOnlyList<string> LayerLenses);

    public sealed record LayerView(string Model, LayerInfo Layer, LayerState Stored);

    /// <summary>A stored lens: the URLs of its image and of its data document (JSON).</summary>
    public sealed record LensView(string Lens, string Url, string? DataUrl, string OptionsHash, IReadOnlyDictionary<string, double> Quality, LensOptions Options, DateTimeOffset RenderedAt);

    public sealed record UnitView(string Model, string Layer, int Unit, string Permalink, IReadOnlyList<LensView> Lenses);

    public static async Task<Ok<List<ModelSummary>>> ListAsync(IGrainFactory grains)
    {
        var ids = await grains.GetGrain<IModelDirectoryGrain>(0).ListAsync();
        var models = await Task.WhenAll(ids.Select(id => grains.GetGrain<IModelGrain>(id).GetAsync()));
        var summaries = await Task.WhenAll(models.OfType<ModelInfo>().Select(async m =>
        {
            var layers = await OverviewAsync(grains, m);
            var byLens = layers.SelectMany(l => l.RenderedByLens).GroupBy(e => e.Key).ToDictionary(g => g.Key, g => g.Sum(e => e.Value));
            return new ModelSummary(m.Id, m.Version, m.Title, m.Source, m.Layers.Count, m.TotalUnits, m.Lenses, layers.Sum(l => l.RenderedUnits), byLens);
        }));
        return TypedResults.Ok(summaries.ToList());
    }

    public static async Task<Ok<ModelInfo>> GetAsync(IGrainFactory grains, string model) => TypedResults.Ok(await ModelAsync(grains, model));

    public static async Task<Ok<LayerOverview[]>> LayersAsync(IGrainFactory grains, string model) => TypedResults.Ok(await OverviewAsync(grains, await ModelAsync(grains, model)));

    private static Task<LayerOverview[]> OverviewAsync(IGrainFactory grains, ModelInfo model) =>
        Task.WhenAll(model.Layers.Select(async l =>
        {
            var summary = await grains.GetGrain<ILayerGrain>(FarmIds.Layer(model.Id, l.Id)).SummaryAsync();
            return new LayerOverview(l.Id, l.Op, l.Shape, l.Index, l.Units, summary.RenderedUnits, summary.UnitsByLens, summary.LayerLenses);
        }));

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
            [.. state.Lenses.Select(l => new LensView(l.Lens, $"{prefix}/lenses/{l.Lens}?options={l.OptionsHash}",
                l.DataPath is null ? null : $"{prefix}/lenses/{l.Lens}.json?options={l.OptionsHash}", l.OptionsHash, l.Quality, l.Options, l.RenderedAt))]));
    }

    /// <summary>Priority of the jobs a writer starts by asking for a lens that is not rendered yet (?render=true).</summary>
    public const int OnDemandPriority = 100;

    /// <summary>The longest a caller may block on a pending lens with ?wait=N (seconds).</summary>
    public const int MaxWaitSeconds = 60;

    /// <summary>
    /// The lens's image, or with a .json suffix its data document (options, quality figures, and the
    /// lens's data: the examples and their activations, the tuning curves), the newest render or the
    /// one with ?options=hash; 202 while it is not rendered yet (with Retry-After, and Location when a
    /// job renders it), and with ?render=true a caller who may write starts a high-priority job for it
    /// (idempotent: asking again joins the same job). With ?wait=N the request blocks up to N seconds
    /// for the render before it answers 202, for callers (curl -o) who would rather block than poll.
    /// </summary>
    public static async Task<IResult> LensAsync(IGrainFactory grains, LensCache cache, HttpContext context, IConfiguration configuration,
        string model, string layer, string unit, string lens, string? options, bool? render, int? wait)
    {
        if (options is not null && !IsOptionsHash(options))
        {
            throw new FarmInputException($"'{FarmIds.Shorten(options)}' is not an options hash: use the hexadecimal hash a unit's lens lists (optionsHash), or leave ?options= out for the newest render.");
        }

        if (wait is < 0 or > MaxWaitSeconds)
        {
            throw new FarmInputException($"wait is in seconds, from 0 to {MaxWaitSeconds}, not {wait}.");
        }

        var (name, data) = lens.EndsWith(".json", StringComparison.Ordinal) ? (lens[..^5], true)
            : lens.EndsWith(".png", StringComparison.Ordinal) ? (lens[..^4], false) : (lens, false);
        var asked = QueryOptions(context.Request.Query);
        if (asked is not null && options is not null)
        {
            throw new FarmInputException("give either ?options=<hash> or the options themselves (?steps=…&size=…), not both.");
        }

        var hash = options ?? asked?.For(FarmLenses.Get(name).Name).Hash();
        var route = $"{model}/{layer}/{unit}/{name}?{hash}";
        var record = cache.Record(route);
        if (record is null)
        {
            var (_, number) = await CheckUnitAsync(grains, model, layer, unit);
            var kind = FarmLenses.Get(name);
            record = await StoredAsync(grains, model, layer, number, kind, hash);
            if (record is null)
            {
                var lensOptions = (asked ?? LensOptions.Default).For(kind.Name);
                var job = render == true && WriteAccess.Allows(context) ? await RenderOnDemandAsync(grains, context, model, layer, number, kind, lensOptions) : null;
                var deadline = DateTime.UtcNow.AddSeconds(wait ?? 0);
                while (record is null && DateTime.UtcNow < deadline)
                {
                    await Task.Delay(250, context.RequestAborted);
                    record = await StoredAsync(grains, model, layer, number, kind, hash);
                }

                if (record is null)
                {
                    return Pending(context, model, layer, number, kind, job, render == true);
                }
            }

            cache.Remember(route, record);
        }

        var path = data ? record.DataPath ?? throw new FarmNotFoundException($"the {record.Lens} lens has no JSON data; ask for its image (without .json).") : record.ImagePath;
        var (content, blob) = await cache.GetAsync(path, context.RequestAborted)
            ?? throw new FarmNotFoundException($"the stored {record.Lens} of {model}/{layer}/{unit} is missing from the lens store ({path}).");

        // Renders are content-addressed, so immutable; private reads must not be kept by shared caches.
        context.Response.Headers.CacheControl = configuration.GetValue<bool>("Farm:Api:PrivateReads")
            ? "private, max-age=31536000, immutable" : "public, max-age=31536000, immutable";
        if (context.Request.Headers.Range is [{ } range] && !range.StartsWith("bytes=", StringComparison.OrdinalIgnoreCase))
        {
            // A range unit other than bytes is ignored: the whole lens (RFC 9110 §14.2).
            context.Request.Headers.Remove("Range");
        }

        return TypedResults.File(content, blob.ContentType, lastModified: blob.LastModified,
            entityTag: new Microsoft.Net.Http.Headers.EntityTagHeaderValue(blob.ETag), enableRangeProcessing: true);
    }

    /// <summary>The newest stored render of the lens (with the options hash, when given), or null.</summary>
    private static async Task<LensRecord?> StoredAsync(IGrainFactory grains, string model, string layer, int unit, LensKind kind, string? hash)
    {
        var records = kind.Scope == LensScope.Layer
            ? (await grains.GetGrain<ILayerGrain>(FarmIds.Layer(model, layer)).GetAsync()).LayerLenses
            : (await grains.GetGrain<IUnitGrain>(FarmIds.Unit(model, layer, unit)).GetAsync()).Lenses;
        return records.Where(l => l.Lens == kind.Name && (hash is null || l.OptionsHash == hash)).MaxBy(l => l.RenderedAt);
    }

    /// <summary>Submits (or joins) the high-priority job that renders one pending lens; its id.</summary>
    private static async Task<string> RenderOnDemandAsync(IGrainFactory grains, HttpContext context, string model, string layer, int unit, LensKind kind, LensOptions options)
    {
        var caller = WriteAccess.Caller(context);
        var configuration = context.RequestServices.GetRequiredService<IConfiguration>();
        var status = await grains.GetGrain<IJobDirectoryGrain>(0).SubmitWithinQuotaAsync(new JobSpec
        {
            Model = model,
            Layers = [layer],
            Units = kind.Scope == LensScope.Layer ? null : [unit],
            Lenses = [kind.Name],
            Options = options,
            Priority = OnDemandPriority,
            UnitsPerItem = 1,
            ClientToken = $"on-demand:{model}/{layer}/{(kind.Scope == LensScope.Layer ? "layer" : unit)}/{kind.Name}/{options.Hash()}",
            Owner = caller,
        }, WriteLimits.QuotaFor(configuration, caller));
        return status.Id;
    }

    /// <summary>
    /// 202 for a lens not rendered yet, as JSON that says what to do. A client saving the body to a
    /// file (curl -o) would save this JSON: the status code, Retry-After and Location (the job
    /// rendering it, when there is one) say it is not the image.
    /// </summary>
    private static IResult Pending(HttpContext context, string model, string layer, int unit, LensKind kind, string? job, bool render)
    {
        context.Response.Headers.RetryAfter = job is null ? "30" : "5";
        if (job is not null)
        {
            context.Response.Headers.Location = $"/api/jobs/{Uri.EscapeDataString(job)}";
        }

        var detail = job is not null ? $"rendering now at priority {OnDemandPriority} in job {job}; ask again shortly, or add ?wait=N to block up to N seconds"
            : render ? "not rendered yet; rendering on demand needs write access (an API key)"
            : "not rendered yet; submit a job (POST /api/jobs), ask with ?render=true as a writer, or wait for the running one";
        return TypedResults.Json(new { status = "pending", model, layer, unit, lens = kind.Name, job, detail }, statusCode: StatusCodes.Status202Accepted);
    }

    /// <summary>Render options given in the query (steps, size, seed, fourier, transforms, diversityImages, top, dataset, family, reluRedirect), or null when none is.</summary>
    private static LensOptions? QueryOptions(IQueryCollection query)
    {
        if (!LensOptions.Fields.Any(f => query.ContainsKey(f.Name)))
        {
            return null;
        }

        var d = LensOptions.Default;
        return new LensOptions
        {
            Steps = Number("steps", d.Steps),
            Size = Number("size", d.Size),
            Seed = Number("seed", d.Seed),
            Fourier = Flag("fourier", d.Fourier),
            Transforms = Flag("transforms", d.Transforms),
            DiversityImages = Number("diversityImages", d.DiversityImages),
            Top = Number("top", d.Top),
            Dataset = query.TryGetValue("dataset", out var dataset) ? dataset.ToString() : d.Dataset,
            Family = query.TryGetValue("family", out var family) ? family.ToString() : d.Family,
            ReluRedirect = Flag("reluRedirect", d.ReluRedirect),
        }.Validate();

        int Number(string name, int fallback) =>
            !query.TryGetValue(name, out var text) ? fallback
            : int.TryParse(text, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var value) ? value
            : throw new FarmInputException($"{name} must be a whole number, not '{FarmIds.Shorten(text.ToString())}'.");

        bool Flag(string name, bool fallback) =>
            !query.TryGetValue(name, out var text) ? fallback
            : bool.TryParse(text, out var value) ? value
            : throw new FarmInputException($"{name} must be true or false, not '{FarmIds.Shorten(text.ToString())}'.");
    }

    private static bool IsOptionsHash(string text) => text.Length is >= 8 and <= 64 && text.All(char.IsAsciiHexDigit);

    internal static async Task<ModelInfo> ModelAsync(IGrainFactory grains, string model) =>
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
