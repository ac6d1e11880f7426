using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microscope.Testing;

namespace Microscope.Farm.FaultTests;

/// <summary>
/// The embedded default as ./run.sh starts it (role all, localhost clustering, files, a default job),
/// on a small model, as a real process, once for the tests of <see cref="EmbeddedFarmTests"/>.
/// </summary>
public sealed class EmbeddedFarm : IAsyncLifetime
{
    private SmallFarmProcess farm = null!;

    internal SiloProcess Silo => farm.Silo;

    public HttpClient Http => farm.Http;

    public async Task InitializeAsync()
    {
        farm = SmallFarmProcess.Start("embedded", new Dictionary<string, string>
        {
            ["Farm__DefaultJob__Model"] = "small",
            ["Farm__DefaultJob__Layers__0"] = "Relu_20",
            ["Farm__DefaultJob__Steps"] = "4",
            ["Farm__DefaultJob__Size"] = "32",
            ["Farm__Render__Slots"] = "2",
            ["Farm__Render__HeartbeatInterval"] = "00:00:00.500",
        });
        await Silo.WaitUntilAsync(async () =>
        {
            // The default job, not the organism's intake job before it.
            var jobs = (await Http.GetFromJsonAsync<JsonElement>("/api/jobs")).EnumerateArray().Where(j => !j.GetProperty("intake").GetBoolean()).ToList();
            return jobs.Count > 0 && jobs[0].GetProperty("state").GetString() == "Completed";
        }, TimeSpan.FromMinutes(2), "finished default job");
    }

    public async Task DisposeAsync() => await farm.DisposeAsync();
}

/// <summary>The API, health and metrics the embedded farm serves.</summary>
public sealed class EmbeddedFarmTests(EmbeddedFarm farm) : IClassFixture<EmbeddedFarm>
{
    private HttpClient http => farm.Http;

    private SiloProcess silo => farm.Silo;

    [Fact]
    public async Task The_default_job_renders_and_its_lenses_are_served_with_permanent_caching()
    {
        var models = await http.GetFromJsonAsync<JsonElement>("/api/models");
        Assert.Equal("small", models[0].GetProperty("id").GetString());

        var unit = await http.GetFromJsonAsync<JsonElement>("/api/models/small/layers/Relu_20/units/3");
        Assert.Equal("/models/small/layers/Relu_20/units/3", unit.GetProperty("permalink").GetString());
        Assert.Equal("featurevis", unit.GetProperty("lenses")[0].GetProperty("lens").GetString());

        using var image = await http.GetAsync("/api/models/small/layers/Relu_20/units/3/lenses/featurevis");
        Assert.Equal(HttpStatusCode.OK, image.StatusCode);
        Assert.Equal("image/png", image.Content.Headers.ContentType!.MediaType);
        Assert.Equal("public, max-age=31536000, immutable", image.Headers.CacheControl!.ToString());
        var etag = image.Headers.ETag!;
        Assert.False(etag.IsWeak);

        using var conditional = new HttpRequestMessage(HttpMethod.Get, "/api/models/small/layers/Relu_20/units/3/lenses/featurevis");
        conditional.Headers.IfNoneMatch.Add(etag);
        Assert.Equal(HttpStatusCode.NotModified, (await http.SendAsync(conditional)).StatusCode);

        using var range = new HttpRequestMessage(HttpMethod.Get, "/api/models/small/layers/Relu_20/units/3/lenses/featurevis");
        range.Headers.Range = new RangeHeaderValue(0, 7);
        var partial = await http.SendAsync(range);
        Assert.Equal(HttpStatusCode.PartialContent, partial.StatusCode);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A], await partial.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task A_lens_has_its_data_as_json_and_the_overviews_count_rendered_units()
    {
        var unit = await http.GetFromJsonAsync<JsonElement>("/api/models/small/layers/Relu_20/units/3");
        var dataUrl = unit.GetProperty("lenses")[0].GetProperty("dataUrl").GetString()!;
        Assert.StartsWith("/api/models/small/layers/Relu_20/units/3/lenses/featurevis.json?options=", dataUrl);

        using var data = await http.GetAsync(dataUrl);
        Assert.Equal(HttpStatusCode.OK, data.StatusCode);
        Assert.Equal("application/json", data.Content.Headers.ContentType!.MediaType);
        var document = await data.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(3, document.GetProperty("unit").GetInt32());
        Assert.Equal(4, document.GetProperty("options").GetProperty("steps").GetInt32());
        Assert.True(document.GetProperty("quality").EnumerateObject().Any());
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/api/models/small/layers/Relu_20/units/3/lenses/featurevis.png")).StatusCode);

        var layers = await http.GetFromJsonAsync<JsonElement>("/api/models/small/layers");
        var relu = layers.EnumerateArray().Single(l => l.GetProperty("id").GetString() == "Relu_20");
        var units = relu.GetProperty("units").GetInt32();
        Assert.Equal(units, relu.GetProperty("renderedUnits").GetInt32());
        Assert.Equal(units, relu.GetProperty("renderedByLens").GetProperty("featurevis").GetInt32());
        Assert.All(layers.EnumerateArray().Where(l => l.GetProperty("id").GetString() != "Relu_20"), l => Assert.Equal(0, l.GetProperty("renderedUnits").GetInt32()));

        var model = (await http.GetFromJsonAsync<JsonElement>("/api/models"))[0];
        Assert.Equal(units, model.GetProperty("renderedUnits").GetInt32());
        Assert.Equal(units, model.GetProperty("renderedByLens").GetProperty("featurevis").GetInt32());
    }

    [Fact]
    public async Task A_writer_asking_for_a_pending_lens_with_render_true_gets_it_rendered_at_high_priority()
    {
        // The render options in the query: the on-demand job renders with them, and the same query finds the result.
        const string url = "/api/models/small/layers/Relu_20/units/5/lenses/negative?steps=4&size=32";
        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync(url + "&options=0123456789ab")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync("/api/models/small/layers/Relu_20/units/5/lenses/negative?steps=many")).StatusCode);
        using var first = await http.GetAsync(url + "&render=true");
        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        var job = (await first.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("job").GetString()!;
        Assert.Equal($"/api/jobs/{Uri.EscapeDataString(job)}", first.Headers.Location?.OriginalString);
        Assert.True(first.Headers.RetryAfter?.Delta > TimeSpan.Zero);
        using var again = await http.GetAsync(url + "&render=true");
        Assert.Equal(job, (await again.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("job").GetString());

        var status = await http.GetFromJsonAsync<JsonElement>($"/api/jobs/{Uri.EscapeDataString(job)}");
        Assert.True(status.GetProperty("spec").GetProperty("priority").GetInt32() > 0);
        Assert.Equal(4, status.GetProperty("spec").GetProperty("options").GetProperty("steps").GetInt32());
        await silo.WaitUntilAsync(async () => (await http.GetAsync(url)).StatusCode == HttpStatusCode.OK, TimeSpan.FromMinutes(1), "the on-demand render");
        using var image = await http.GetAsync(url);
        Assert.Equal("image/png", image.Content.Headers.ContentType!.MediaType);
        var unit = await http.GetFromJsonAsync<JsonElement>("/api/models/small/layers/Relu_20/units/5");
        Assert.Contains(unit.GetProperty("lenses").EnumerateArray(), l => l.GetProperty("lens").GetString() == "negative");
    }

    [Fact]
    public async Task Workers_are_listed_and_an_operator_can_drain_and_undrain_a_silo()
    {
        var workers = await http.GetFromJsonAsync<JsonElement>("/api/workers");
        var worker = Assert.Single(workers.EnumerateArray());
        Assert.True(worker.GetProperty("alive").GetBoolean());
        Assert.Equal("cpu", worker.GetProperty("info").GetProperty("device").GetString());
        Assert.Equal(2, worker.GetProperty("info").GetProperty("slots").GetInt32());
        var name = worker.GetProperty("info").GetProperty("silo").GetString()!;

        Assert.Equal(HttpStatusCode.NotFound, (await http.PostAsync("/api/workers/no-such-silo/drain", null)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.PostAsync("/api/workers/..%2Fx/drain", null)).StatusCode);
        try
        {
            var drained = await http.PostAsync($"/api/workers/{name}/drain", null);
            Assert.Equal(HttpStatusCode.OK, drained.StatusCode);
            Assert.True((await drained.Content.ReadFromJsonAsync<JsonElement>())[0].GetProperty("draining").GetBoolean());
            await silo.WaitUntilAsync(async () => (await http.GetStringAsync("/healthz")).Contains("\"description\":\"draining\"", StringComparison.Ordinal),
                TimeSpan.FromSeconds(20), "health to report draining");
        }
        finally
        {
            Assert.Equal(HttpStatusCode.OK, (await http.PostAsync($"/api/workers/{name}/undrain", null)).StatusCode);
        }

        await silo.WaitUntilAsync(async () => (await http.GetStringAsync("/healthz")).Contains("\"description\":\"taking work\"", StringComparison.Ordinal),
            TimeSpan.FromSeconds(20), "health to report taking work");
    }

    [Fact]
    public async Task Unknown_and_malformed_requests_get_problem_details_and_pending_lenses_202()
    {
        var pending = await http.GetAsync("/api/models/small/layers/Relu_20/units/3/lenses/negative");
        Assert.Equal(HttpStatusCode.Accepted, pending.StatusCode);
        Assert.NotNull(pending.Headers.RetryAfter);

        var layer = await http.GetAsync("/api/models/small/layers/nope/units/0");
        Assert.Equal(HttpStatusCode.NotFound, layer.StatusCode);
        Assert.Equal("application/problem+json", layer.Content.Headers.ContentType!.MediaType);
        Assert.Contains("no layer 'nope'", await layer.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/api/models/small/layers/Relu_20/units/999")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/api/models/small/layers/Relu_20/units/0/lenses/xray")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/api/models/nothing")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync("/api/models/small/layers/Relu_20/units/007")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync("/api/models/small/layers/..%2f..%2fetc/units/0")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.PostAsJsonAsync("/api/jobs", new { model = "small", options = new { steps = 0 } })).StatusCode);
    }

    [Fact]
    public async Task Health_reports_the_device_and_metrics_count_the_renders()
    {
        var health = await http.GetFromJsonAsync<JsonElement>("/healthz");
        Assert.Equal("Healthy", health.GetProperty("status").GetString());
        Assert.Equal("cpu", health.GetProperty("checks").GetProperty("render").GetProperty("data").GetProperty("device").GetString());

        var openApi = await http.GetFromJsonAsync<JsonElement>("/api/openapi.json");
        Assert.True(openApi.GetProperty("paths").TryGetProperty("/api/models/{model}/layers/{layer}/units/{unit}/lenses/{lens}", out _));
        Assert.True(openApi.GetProperty("paths").TryGetProperty("/api/jobs", out _));
        var docs = await http.GetAsync("/api/docs");
        Assert.Equal(HttpStatusCode.OK, docs.StatusCode);
        Assert.Contains("text/html", docs.Content.Headers.ContentType!.ToString());

        var metrics = await http.GetStringAsync("/metrics");
        Assert.Contains("microscope_lenses_rendered", metrics);
        Assert.Contains("microscope_render_duration_seconds_bucket{", metrics);
        Assert.Contains("le=\"0.25\"", metrics);
        Assert.Matches(@"microscope_render_slots\{[^}]*microscope_device=""cpu""[^}]*\} 2", metrics);
    }
}
