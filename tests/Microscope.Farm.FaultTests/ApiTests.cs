using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microscope.Onnx.Proto;
using Microscope.Testing;
using Xunit.Abstractions;

namespace Microscope.Farm.FaultTests;

/// <summary>
/// The HTTP API of docs/api.md against a real farm process whose store is blob storage (Azurite),
/// with API keys: every endpoint, caching (ETag, 304, ranges), 202 for pending lenses, problem
/// details, refused writes (no key, wrong key, traversal, malformed or oversized uploads) leaving
/// every blob as it was, and a seeded fuzz of methods, ids, queries, headers and bodies.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class ApiTests(ApiHost host, ITestOutputHelper output)
{
    private const string Unit = $"/api/models/{ApiHost.Model}/layers/{ApiHost.Layer}/units/1";
    private const string Lens = Unit + "/lenses/featurevis";
    private const string Nowhere = "api-test-no-such-worker";

    private HttpClient Http => host.Http;

    [Fact]
    public async Task The_lens_registry_is_served_as_the_farm_defines_it()
    {
        var lenses = await Http.GetFromJsonAsync<JsonElement>("/api/lenses");
        Assert.Equal(FarmLenses.All.Select(l => l.Name), lenses.EnumerateArray().Select(l => l.GetProperty("id").GetString()));
        var deepdream = Assert.Single(lenses.EnumerateArray(), l => l.GetProperty("id").GetString() == "deepdream");
        Assert.Equal("layer", deepdream.GetProperty("scope").GetString());
        Assert.Equal("DeepDream", deepdream.GetProperty("title").GetString());
        Assert.Equal(FarmLenses.DeepDream.Description, deepdream.GetProperty("description").GetString());
        Assert.Equal(["steps", "seed"], deepdream.GetProperty("options").EnumerateArray().Select(o => o.GetString()));
        var examples = Assert.Single(lenses.EnumerateArray(), l => l.GetProperty("id").GetString() == "dataset-examples");
        Assert.True(examples.GetProperty("needsDataset").GetBoolean());
        Assert.False(examples.GetProperty("needsGradients").GetBoolean());
        Assert.Equal(["png", "json"], examples.GetProperty("files").EnumerateArray().Select(o => o.GetString()));
    }

    [Fact]
    public async Task Models_layers_and_units_are_served_from_the_registered_model()
    {
        var models = await Http.GetFromJsonAsync<JsonElement>("/api/models");
        var small = Assert.Single(models.EnumerateArray(), m => m.GetProperty("id").GetString() == ApiHost.Model);
        Assert.Equal(8, small.GetProperty("layers").GetInt32());
        Assert.Equal(47, small.GetProperty("units").GetInt32());
        Assert.Contains("featurevis", small.GetProperty("lenses").EnumerateArray().Select(l => l.GetString()));

        var model = await Http.GetFromJsonAsync<JsonElement>($"/api/models/{ApiHost.Model}");
        Assert.Equal(small.GetProperty("version").GetString(), model.GetProperty("version").GetString());
        var layers = await Http.GetFromJsonAsync<JsonElement>($"/api/models/{ApiHost.Model}/layers");
        static IEnumerable<(string?, string?, int)> Described(JsonElement layers) =>
            layers.EnumerateArray().Select(l => (l.GetProperty("id").GetString(), l.GetProperty("op").GetString(), l.GetProperty("units").GetInt32()));
        Assert.Equal(Described(model.GetProperty("layers")), Described(layers));
        Assert.Equal(Enumerable.Range(0, 8), layers.EnumerateArray().Select(l => l.GetProperty("index").GetInt32()));
        var relu = Assert.Single(layers.EnumerateArray(), l => l.GetProperty("id").GetString() == ApiHost.Layer);
        Assert.Equal(6, relu.GetProperty("units").GetInt32());
        Assert.Equal([6, 16, 16], relu.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()));

        var layer = await Http.GetFromJsonAsync<JsonElement>($"/api/models/{ApiHost.Model}/layers/{ApiHost.Layer}");
        Assert.Equal(ApiHost.Layer, layer.GetProperty("layer").GetProperty("id").GetString());
        Assert.Equal(6, layer.GetProperty("layer").GetProperty("units").GetInt32());
        var stored = layer.GetProperty("stored").GetProperty("unitLenses");
        Assert.Equal(ApiHost.RenderedUnits.Select(u => u.ToString(System.Globalization.CultureInfo.InvariantCulture)).Order(), stored.EnumerateObject().Select(p => p.Name).Order());

        var unit = await Http.GetFromJsonAsync<JsonElement>(Unit);
        Assert.Equal($"/models/{ApiHost.Model}/layers/{ApiHost.Layer}/units/1", unit.GetProperty("permalink").GetString());
        var lens = Assert.Single(unit.GetProperty("lenses").EnumerateArray());
        Assert.Equal("featurevis", lens.GetProperty("lens").GetString());
        Assert.Equal($"{Lens}?options={lens.GetProperty("optionsHash").GetString()}", lens.GetProperty("url").GetString());
        Assert.Equal(4, lens.GetProperty("options").GetProperty("steps").GetInt32());
        Assert.True(lens.GetProperty("quality").EnumerateObject().Any());

        // A unit the job did not render has no lenses yet, but exists.
        var unrendered = await Http.GetFromJsonAsync<JsonElement>($"/api/models/{ApiHost.Model}/layers/{ApiHost.Layer}/units/5");
        Assert.Equal(0, unrendered.GetProperty("lenses").GetArrayLength());
    }

    [Fact]
    public async Task A_rendered_lens_is_an_immutable_png_with_a_strong_etag_304_and_ranges()
    {
        var unit = await Http.GetFromJsonAsync<JsonElement>(Unit);
        var permalink = unit.GetProperty("lenses")[0].GetProperty("url").GetString()!;

        using var image = await Http.GetAsync(Lens);
        Assert.Equal(HttpStatusCode.OK, image.StatusCode);
        Assert.Equal("image/png", image.Content.Headers.ContentType!.MediaType);
        Assert.Equal("public, max-age=31536000, immutable", string.Join(", ", image.Headers.GetValues("Cache-Control")));
        var etag = image.Headers.ETag!;
        Assert.False(etag.IsWeak);
        var png = await image.Content.ReadAsByteArrayAsync();
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A], png[..8]);
        Assert.True(png.Length > 100);

        // What is served is what the render stored in blob storage, byte for byte.
        var hash = unit.GetProperty("lenses")[0].GetProperty("optionsHash").GetString();
        var blob = host.Blobs.GetBlobContainerClient("lenses").GetBlobClient($"models/{ApiHost.Model}/{host.RenderedJob.ModelVersion}/layers/{ApiHost.Layer}/units/1/featurevis/{hash}.png");
        Assert.Equal(png, (await blob.DownloadContentAsync()).Value.Content.ToArray());

        // The permalink with ?options= is the same image; another unit's is another image.
        using var byOptions = await Http.GetAsync(permalink);
        Assert.Equal(etag, byOptions.Headers.ETag);
        Assert.Equal(png, await byOptions.Content.ReadAsByteArrayAsync());
        using var other = await Http.GetAsync(Lens.Replace("/units/1/", "/units/2/", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
        Assert.NotEqual(etag, other.Headers.ETag);

        // HEAD wherever GET is served (RFC 9110 §9.1): the same status and headers, no body.
        using var head = await Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, Lens));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(etag, head.Headers.ETag);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());
        using var headUnit = await Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, Unit));
        Assert.Equal(HttpStatusCode.OK, headUnit.StatusCode);

        // If-None-Match compares weakly (RFC 9110 §13.1.2): W/ on the same tag matches too.
        foreach (var match in new[] { etag.Tag, "*", $"\"nope\", {etag.Tag}", "W/" + etag.Tag })
        {
            using var conditional = await host.SendAsync(HttpMethod.Get, Lens, headers: ("If-None-Match", match));
            Assert.Equal(HttpStatusCode.NotModified, conditional.StatusCode);
            Assert.Equal(etag, conditional.Headers.ETag);
            Assert.Equal("public, max-age=31536000, immutable", string.Join(", ", conditional.Headers.GetValues("Cache-Control")));
            Assert.Empty(await conditional.Content.ReadAsByteArrayAsync());
        }

        using var stale = await host.SendAsync(HttpMethod.Get, Lens, headers: ("If-None-Match", "\"something-else\""));
        Assert.Equal(HttpStatusCode.OK, stale.StatusCode);

        using var range = await host.SendAsync(HttpMethod.Get, Lens, headers: ("Range", "bytes=0-99"));
        Assert.Equal(HttpStatusCode.PartialContent, range.StatusCode);
        Assert.Equal(new ContentRangeHeaderValue(0, 99, png.Length), range.Content.Headers.ContentRange);
        Assert.Equal(png[..100], await range.Content.ReadAsByteArrayAsync());

        using var ifRange = await host.SendAsync(HttpMethod.Get, Lens, headers: [("Range", "bytes=10-19"), ("If-Range", etag.Tag)]);
        Assert.Equal(HttpStatusCode.PartialContent, ifRange.StatusCode);
        Assert.Equal(png[10..20], await ifRange.Content.ReadAsByteArrayAsync());
        using var changed = await host.SendAsync(HttpMethod.Get, Lens, headers: [("Range", "bytes=10-19"), ("If-Range", "\"another\"")]);
        Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
        Assert.Equal(png, await changed.Content.ReadAsByteArrayAsync());

        using var tail = await host.SendAsync(HttpMethod.Get, Lens, headers: ("Range", "bytes=-10"));
        Assert.Equal(HttpStatusCode.PartialContent, tail.StatusCode);
        Assert.Equal(png[^10..], await tail.Content.ReadAsByteArrayAsync());

        using var beyond = await host.SendAsync(HttpMethod.Get, Lens, headers: ("Range", $"bytes={png.Length + 10}-"));
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, beyond.StatusCode);
        Assert.Equal($"bytes */{png.Length}", beyond.Content.Headers.ContentRange!.ToString());

        // A Range that cannot be parsed is ignored: the whole image.
        using var garbage = await host.SendAsync(HttpMethod.Get, Lens, headers: ("Range", "bytes=abc"));
        Assert.Equal(HttpStatusCode.OK, garbage.StatusCode);
        Assert.Equal(png, await garbage.Content.ReadAsByteArrayAsync());

        // A range unit other than bytes is ignored (RFC 9110 §14.2): the whole image.
        using var lines = await host.SendAsync(HttpMethod.Get, Lens, headers: ("Range", "lines=1-2"));
        Assert.Equal(HttpStatusCode.OK, lines.StatusCode);
        Assert.Equal(png, await lines.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task A_lens_not_rendered_yet_answers_202_pending_with_retry_after()
    {
        foreach (var (url, lens) in new[]
        {
            (Unit + "/lenses/negative", "negative"),
            ($"/api/models/{ApiHost.Model}/layers/{ApiHost.Layer}/units/5/lenses/featurevis", "featurevis"),
            (Unit + "/lenses/deepdream", "deepdream"),
            (Lens + "?options=0123456789ab", "featurevis"),
        })
        {
            using var pending = await Http.GetAsync(url);
            Assert.Equal(HttpStatusCode.Accepted, pending.StatusCode);
            Assert.Equal("application/json", pending.Content.Headers.ContentType!.MediaType);
            Assert.True(pending.Headers.RetryAfter?.Delta > TimeSpan.Zero, url);
            Assert.Null(pending.Headers.ETag);
            var body = await pending.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("pending", body.GetProperty("status").GetString());
            Assert.Equal(lens, body.GetProperty("lens").GetString());
            Assert.Equal(ApiHost.Model, body.GetProperty("model").GetString());
            Assert.Equal(ApiHost.Layer, body.GetProperty("layer").GetString());
        }

        // A malformed ?options= hash is a bad request, not a pending lens.
        await ProblemAsync(await Http.GetAsync(Lens + "?options=..%2F..%2Fx"), HttpStatusCode.BadRequest, "is not an options hash");
    }

    [Fact]
    public async Task Jobs_are_submitted_idempotently_followed_paused_resumed_reprioritized_and_cancelled()
    {
        var done = host.RenderedJob;
        Assert.Equal((3, 3, 0, 0, 0), (done.Counts.Total, done.Counts.Done, done.Counts.Running, done.Counts.Waiting, done.Counts.Failed));
        Assert.Equal(3, done.Renders);
        Assert.Empty(done.Failures);
        Assert.Equal("tester", done.Spec.Owner);
        Assert.NotNull(done.StartedAt);
        Assert.NotNull(done.FinishedAt);

        // A job naming a dataset no render silo has is refused at submission (404), naming the setting, not failed later.
        using var doomed = await host.SendAsync(HttpMethod.Post, "/api/jobs", JsonContent.Create(new
        {
            model = ApiHost.Model,
            layers = new[] { ApiHost.Layer },
            lenses = new[] { "dataset-examples" },
            datasetShards = 1,
            options = new { dataset = "api-test-no-such-dataset" },
        }), ApiHost.Key);
        Assert.Equal(HttpStatusCode.NotFound, doomed.StatusCode);
        var problem = await doomed.Content.ReadAsStringAsync();
        Assert.Contains("no render silo has the dataset 'api-test-no-such-dataset'", problem, StringComparison.Ordinal);
        Assert.Contains("Farm:Engine:Datasets:api-test-no-such-dataset", problem, StringComparison.Ordinal);

        // Nothing serves the tag, so these jobs wait and never render: their state is the API's alone.
        var token = "idempotent-" + Guid.NewGuid().ToString("N");
        var spec = new
        {
            model = ApiHost.Model,
            layers = new[] { "Relu_4" },
            units = new[] { 0, 1 },
            lenses = new[] { "featurevis", "negative" },
            unitsPerItem = 1,
            priority = 2,
            requiredTags = new[] { Nowhere },
            clientToken = token,
        };
        using var first = await host.SendAsync(HttpMethod.Post, "/api/jobs", JsonContent.Create(spec), ApiHost.Key);
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        var job = (await first.Content.ReadFromJsonAsync<JobStatus>(FaultCluster.Json))!;
        Assert.Equal($"/api/jobs/{job.Id}", first.Headers.Location!.OriginalString);
        Assert.Equal(JobState.Queued, job.State);
        Assert.Equal(new JobCounts(4, 0, 0, 4, 0), job.Counts);
        Assert.Null(job.EtaSeconds);
        Assert.Empty(job.Failures);

        using var again = await host.SendAsync(HttpMethod.Post, "/api/jobs", JsonContent.Create(spec), ApiHost.Key);
        Assert.True(again.IsSuccessStatusCode);
        Assert.Equal(job.Id, (await again.Content.ReadFromJsonAsync<JobStatus>(FaultCluster.Json))!.Id);
        using var another = await host.SendAsync(HttpMethod.Post, "/api/jobs", JsonContent.Create(spec with { clientToken = token + "-2" }), ApiHost.Key);
        var second = (await another.Content.ReadFromJsonAsync<JobStatus>(FaultCluster.Json))!;
        Assert.NotEqual(job.Id, second.Id);

        var list = (await Http.GetFromJsonAsync<JobStatus[]>("/api/jobs?limit=500", FaultCluster.Json))!;
        Assert.Single(list, j => j.Id == job.Id);
        Assert.Contains(list, j => j.Id == done.Id && j.State == JobState.Completed);
        Assert.True(Array.FindIndex(list, j => j.Id == second.Id) < Array.FindIndex(list, j => j.Id == job.Id), "newest first");

        var followed = (await Http.GetFromJsonAsync<JobStatus>($"/api/jobs/{job.Id}", FaultCluster.Json))!;
        Assert.Equal(job.Counts, followed.Counts);
        Assert.Equal(job.ModelVersion, followed.ModelVersion);
        Assert.Equal(new[] { "featurevis", "negative" }, followed.Spec.Lenses);

        Assert.Equal(JobState.Paused, (await ChangeAsync(HttpMethod.Post, job.Id, "pause")).State);
        Assert.Equal(JobState.Paused, (await Http.GetFromJsonAsync<JobStatus>($"/api/jobs/{job.Id}", FaultCluster.Json))!.State);
        Assert.Equal(JobState.Queued, (await ChangeAsync(HttpMethod.Post, job.Id, "resume")).State);
        var reprioritized = await ChangeAsync(HttpMethod.Put, job.Id, "priority", JsonContent.Create(new { priority = 9 }));
        Assert.Equal(9, reprioritized.Spec.Priority);
        Assert.Equal(9, (await Http.GetFromJsonAsync<JobStatus>($"/api/jobs/{job.Id}", FaultCluster.Json))!.Spec.Priority);

        var cancelled = await ChangeAsync(HttpMethod.Post, job.Id, "cancel");
        Assert.Equal(JobState.Cancelled, cancelled.State);
        Assert.NotNull(cancelled.FinishedAt);
        Assert.Equal(JobState.Cancelled, (await ChangeAsync(HttpMethod.Post, job.Id, "resume")).State);
        Assert.Equal(JobState.Cancelled, (await ChangeAsync(HttpMethod.Post, job.Id, "pause")).State);
        Assert.Equal(JobState.Cancelled, (await ChangeAsync(HttpMethod.Post, second.Id, "cancel")).State);

        // The completed job stays completed whatever it is asked.
        Assert.Equal(JobState.Completed, (await ChangeAsync(HttpMethod.Post, done.Id, "cancel")).State);

        await ProblemAsync(await host.SendAsync(HttpMethod.Post, "/api/jobs/small-999999-ffff/pause", key: ApiHost.Key), HttpStatusCode.NotFound, "no job 'small-999999-ffff'");
        await ProblemAsync(await host.SendAsync(HttpMethod.Put, "/api/jobs/small-999999-ffff/priority", JsonContent.Create(new { priority = 1 }), ApiHost.Key), HttpStatusCode.NotFound, "no job");
        await ProblemAsync(await host.SendAsync(HttpMethod.Post, "/api/jobs", JsonContent.Create(new { model = "nothing" }), ApiHost.Key), HttpStatusCode.NotFound, "no model 'nothing'");
        await ProblemAsync(await host.SendAsync(HttpMethod.Post, "/api/jobs", JsonContent.Create(new { model = ApiHost.Model, lenses = new[] { "xray" } }), ApiHost.Key), HttpStatusCode.NotFound, "no lens 'xray'");
        await ProblemAsync(await host.SendAsync(HttpMethod.Post, "/api/jobs", JsonContent.Create(new { model = ApiHost.Model, options = new { steps = 0 } }), ApiHost.Key), HttpStatusCode.BadRequest, "steps");
        await ProblemAsync(await host.SendAsync(HttpMethod.Post, "/api/jobs", JsonContent.Create(new { model = ApiHost.Model, units = new[] { -1 } }), ApiHost.Key), HttpStatusCode.BadRequest, "units");

        // A body that is not JSON, or not a job, is a problem saying what to change.
        foreach (var (body, says) in new[] { ("{", "open JSON object"), ("{}", "missing required properties including: 'model'"), ("[]", "JobSpec"), ("{\"model\":5}", "$.model") })
        {
            await ProblemAsync(await host.SendAsync(HttpMethod.Post, "/api/jobs", new StringContent(body, Encoding.UTF8, "application/json"), ApiHost.Key), HttpStatusCode.BadRequest, says);
        }

        foreach (var (body, says) in new[] { ("{\"priority\":\"high\"}", "$.priority"), ("{\"prio\":\"x\"}", "prio"), ("{}", "priority"), ("{\"priority\":3,\"extra\":1}", "extra") })
        {
            await ProblemAsync(await host.SendAsync(HttpMethod.Put, $"/api/jobs/{job.Id}/priority", new StringContent(body, Encoding.UTF8, "application/json"), ApiHost.Key), HttpStatusCode.BadRequest, says);
        }

        var unknownCharset = new ByteArrayContent(Encoding.UTF8.GetBytes("{\"model\":\"small\"}"));
        unknownCharset.Headers.TryAddWithoutValidation("Content-Type", "application/json; charset=utf-7");
        await ProblemAsync(await host.SendAsync(HttpMethod.Post, "/api/jobs", unknownCharset, ApiHost.Key), HttpStatusCode.UnsupportedMediaType, "charset");
        Assert.Equal(9, (await Http.GetFromJsonAsync<JobStatus>($"/api/jobs/{job.Id}", FaultCluster.Json))!.Spec.Priority);
    }

    [Fact]
    public async Task A_running_job_reports_its_progress_and_an_eta_and_stops_when_cancelled()
    {
        using var submitted = await host.SendAsync(HttpMethod.Post, "/api/jobs", JsonContent.Create(new
        {
            model = ApiHost.Model,
            layers = new[] { "Concat_22" },
            unitsPerItem = 1,
            options = new { steps = 64, size = 32 },
            clientToken = "eta-" + Guid.NewGuid(),
        }), ApiHost.Key);
        var job = (await submitted.Content.ReadFromJsonAsync<JobStatus>(FaultCluster.Json))!;
        Assert.Equal(10, job.Counts.Total);

        var started = DateTime.UtcNow;
        var running = job;
        while (running.Counts.Done < 2 && !running.IsFinished && DateTime.UtcNow < started.AddSeconds(60))
        {
            await Task.Delay(100);
            running = (await Http.GetFromJsonAsync<JobStatus>($"/api/jobs/{job.Id}", FaultCluster.Json))!;
        }

        output.WriteLine($"{running.Counts} after {(DateTime.UtcNow - started).TotalSeconds:F1} s, ETA {running.EtaSeconds} s");
        Assert.Equal(JobState.Running, running.State);
        Assert.Equal(running.Counts.Total, running.Counts.Done + running.Counts.Running + running.Counts.Waiting);
        Assert.True(running.EtaSeconds > 0, $"ETA {running.EtaSeconds} with {running.Counts}");
        Assert.NotNull(running.StartedAt);
        Assert.True(running.Renders >= running.Counts.Done);

        var cancelled = await ChangeAsync(HttpMethod.Post, job.Id, "cancel");
        Assert.Equal(JobState.Cancelled, cancelled.State);
        Assert.Null(cancelled.EtaSeconds);
        await Task.Delay(1000);
        var after = (await Http.GetFromJsonAsync<JobStatus>($"/api/jobs/{job.Id}", FaultCluster.Json))!;
        Assert.Equal(JobState.Cancelled, after.State);
        Assert.True(after.Counts.Done < after.Counts.Total, $"{after.Counts}");
    }

    [Fact]
    public async Task The_openapi_document_lists_every_endpoint_and_the_reference_answers()
    {
        var openApi = await Http.GetFromJsonAsync<JsonElement>("/api/openapi.json");
        var paths = openApi.GetProperty("paths");
        var expected = new (string Path, string Method)[]
        {
            ("/api/models/", "get"), ("/api/models/", "post"), ("/api/models/{model}", "get"), ("/api/models/{model}/layers", "get"),
            ("/api/models/{model}/layers/{layer}", "get"), ("/api/models/{model}/layers/{layer}/units/{unit}", "get"),
            ("/api/models/{model}/layers/{layer}/units/{unit}/lenses/{lens}", "get"),
            ("/api/jobs/", "get"), ("/api/jobs/", "post"), ("/api/jobs/{job}", "get"), ("/api/jobs/{job}/pause", "post"),
            ("/api/jobs/{job}/resume", "post"), ("/api/jobs/{job}/cancel", "post"), ("/api/jobs/{job}/priority", "put"),
        };
        foreach (var (path, method) in expected)
        {
            var item = paths.TryGetProperty(path, out var p) ? p : paths.TryGetProperty(path.TrimEnd('/'), out p) ? p : default;
            Assert.True(item.ValueKind == JsonValueKind.Object, $"{path} is not in the OpenAPI document: {string.Join(", ", paths.EnumerateObject().Select(e => e.Name))}");
            Assert.True(item.TryGetProperty(method, out _), $"{method} {path} is not in the OpenAPI document");
        }

        using var docs = await Http.GetAsync("/api/docs");
        Assert.Equal(HttpStatusCode.OK, docs.StatusCode);
        Assert.Equal("text/html", docs.Content.Headers.ContentType!.MediaType);
        Assert.Contains("api/openapi.json", await docs.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Unknown_things_are_404_and_malformed_ids_400_as_problem_details_naming_which()
    {
        const string Model = $"/api/models/{ApiHost.Model}";
        await ProblemAsync(await Http.GetAsync("/api/models/nothing"), HttpStatusCode.NotFound, "no model 'nothing'");
        await ProblemAsync(await Http.GetAsync("/api/models/nothing/layers"), HttpStatusCode.NotFound, "no model 'nothing'");
        await ProblemAsync(await Http.GetAsync("/api/models/nothing/layers/Relu_20/units/0/lenses/featurevis"), HttpStatusCode.NotFound, "no model 'nothing'");
        await ProblemAsync(await Http.GetAsync($"{Model}/layers/nope"), HttpStatusCode.NotFound, "no layer 'nope'");
        await ProblemAsync(await Http.GetAsync($"{Model}/layers/nope/units/0"), HttpStatusCode.NotFound, "no layer 'nope'");
        await ProblemAsync(await Http.GetAsync($"{Model}/layers/{ApiHost.Layer}/units/6"), HttpStatusCode.NotFound, "no unit 6");
        await ProblemAsync(await Http.GetAsync($"{Model}/layers/{ApiHost.Layer}/units/6/lenses/featurevis"), HttpStatusCode.NotFound, "no unit 6");
        await ProblemAsync(await Http.GetAsync($"{Model}/layers/{ApiHost.Layer}/units/0/lenses/xray"), HttpStatusCode.NotFound, "no lens 'xray'");
        await ProblemAsync(await Http.GetAsync("/api/jobs/small-999999-ffff"), HttpStatusCode.NotFound, "no job 'small-999999-ffff'");

        await ProblemAsync(await Http.GetAsync($"{Model}/layers/{ApiHost.Layer}/units/007"), HttpStatusCode.BadRequest, "not a unit");
        await ProblemAsync(await Http.GetAsync($"{Model}/layers/{ApiHost.Layer}/units/-1"), HttpStatusCode.BadRequest, "not a unit");
        await ProblemAsync(await Http.GetAsync($"{Model}/layers/{ApiHost.Layer}/units/1e3/lenses/featurevis"), HttpStatusCode.BadRequest, "not a unit");
        await ProblemAsync(await Http.GetAsync($"{Model}/layers/{ApiHost.Layer}/units/99999999999"), HttpStatusCode.BadRequest, "not a unit");
        await ProblemAsync(await Http.GetAsync("/api/models/-bad"), HttpStatusCode.BadRequest, "not a valid model id");
        await ProblemAsync(await Http.GetAsync($"{Model}/layers/a..b"), HttpStatusCode.BadRequest, "not a valid layer id");
        await ProblemAsync(await Http.GetAsync("/api/jobs/bad%20job"), HttpStatusCode.BadRequest, "not a valid job id");

        // A path no route takes, or a method a route does not take, is a problem too.
        foreach (var url in new[] { "/api/nothing", $"{Model}/units", "/api/jobs/x/y/z" })
        {
            await ProblemAsync(await Http.GetAsync(url), HttpStatusCode.NotFound);
        }

        await ProblemAsync(await Http.DeleteAsync(Model), HttpStatusCode.MethodNotAllowed);
    }

    [Fact]
    public async Task Path_traversal_encoded_slashes_long_and_unicode_ids_are_refused_never_500()
    {
        var before = await host.SettledBlobsAsync();
        var longId = new string('a', 129);
        // (A bare ".." or "%2e%2e" segment is a dot segment: the client or Kestrel folds it away, as RFC 3986 says.)
        string[] ids = ["..%2F..%2Fetc%2Fpasswd", "..%2f", "%2e%2e%2f%2e%2e", "a%2Fb", "..%5C..%5Cwindows", "%252e%252e%252f", "%00", "a%00b",
            longId, new string('b', 4000), "%C3%A9t%C3%A9", "%F0%9F%92%A5", "%EF%BC%8E%EF%BC%8E", "%C0%AE%C0%AE", "a%20b", "a%3Bb", ".hidden", "~root", "%FF%FE"];
        string[] templates =
        [
            "/api/models/{0}", "/api/models/{0}/layers", "/api/models/small/layers/{0}", "/api/models/small/layers/{0}/units/0",
            "/api/models/small/layers/Relu_20/units/{0}", "/api/models/small/layers/Relu_20/units/{0}/lenses/featurevis",
            "/api/models/small/layers/Relu_20/units/0/lenses/{0}", "/api/jobs/{0}",
        ];
        var plain = new List<string>();
        foreach (var template in templates)
        {
            foreach (var id in ids)
            {
                var url = string.Format(System.Globalization.CultureInfo.InvariantCulture, template, id);
                using var response = await Http.GetAsync(url);
                Assert.True(response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.NotFound, $"GET {url}: {(int)response.StatusCode}");
                // Kestrel itself refuses a NUL in the path: an empty 400, before the farm sees the request.
                var kestrel = id.Contains("%00", StringComparison.Ordinal) && response.StatusCode == HttpStatusCode.BadRequest;
                if (response.Content.Headers.ContentType?.MediaType != "application/problem+json" && !kestrel)
                {
                    plain.Add($"{(int)response.StatusCode} {id} {url}");
                }
            }
        }

        Assert.True(plain.Count == 0, "answered without problem details:\n" + string.Join("\n", plain));

        // The id checks name the id that is wrong.
        await ProblemAsync(await Http.GetAsync($"/api/models/{longId}"), HttpStatusCode.BadRequest, "not a valid model id");
        await ProblemAsync(await Http.GetAsync("/api/models/small/layers/..%2F..%2Fetc"), HttpStatusCode.BadRequest, "not a valid layer id");
        await ProblemAsync(await Http.GetAsync("/api/jobs/..%2F"), HttpStatusCode.BadRequest, "not a valid job id");
        await ProblemAsync(await Http.GetAsync("/api/models/%C3%A9t%C3%A9"), HttpStatusCode.BadRequest, "not a valid model id");

        // Traversal in writes, with the right key: refused, nothing stored.
        foreach (var id in new[] { "..%2F..%2Fx", "%2e%2e", longId, "%C3%A9" })
        {
            foreach (var action in new[] { "pause", "resume", "cancel" })
            {
                using var response = await host.SendAsync(HttpMethod.Post, $"/api/jobs/{id}/{action}", key: ApiHost.Key);
                Assert.True(response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.NotFound, $"{action} {id}: {response.StatusCode}");
            }
        }

        using var upload = await UploadAsync(Model(16), "fine.onnx", ApiHost.Key, "?id=..%2F..%2Fescape");
        await ProblemAsync(upload, HttpStatusCode.BadRequest, "not a valid model id");
        using var job = await host.SendAsync(HttpMethod.Post, "/api/jobs", JsonContent.Create(new { model = "../small", requiredTags = new[] { Nowhere } }), ApiHost.Key);
        await ProblemAsync(job, HttpStatusCode.BadRequest, "not a valid model id");
        AssertSame(before, await host.SettledBlobsAsync());
    }

    [Fact]
    public async Task Writes_without_a_valid_key_are_refused_with_401_or_403_and_store_nothing()
    {
        using var created = await host.SendAsync(HttpMethod.Post, "/api/jobs", JsonContent.Create(new { model = ApiHost.Model, requiredTags = new[] { Nowhere }, clientToken = "keys-" + Guid.NewGuid() }), ApiHost.Key);
        var job = (await created.Content.ReadFromJsonAsync<JobStatus>(FaultCluster.Json))!;
        var before = await host.SettledBlobsAsync();
        var jobs = (await Http.GetFromJsonAsync<JobStatus[]>("/api/jobs?limit=500", FaultCluster.Json))!.Length;
        var model = Model(20);

        var writes = new (string Name, Func<(string Name, string Value)[], Task<HttpResponseMessage>> Send)[]
        {
            ("submit", h => host.SendAsync(HttpMethod.Post, "/api/jobs", JsonContent.Create(new { model = ApiHost.Model, layers = new[] { ApiHost.Layer } }), headers: h)),
            ("pause", h => host.SendAsync(HttpMethod.Post, $"/api/jobs/{job.Id}/pause", headers: h)),
            ("resume", h => host.SendAsync(HttpMethod.Post, $"/api/jobs/{job.Id}/resume", headers: h)),
            ("cancel", h => host.SendAsync(HttpMethod.Post, $"/api/jobs/{job.Id}/cancel", headers: h)),
            ("priority", h => host.SendAsync(HttpMethod.Put, $"/api/jobs/{job.Id}/priority", JsonContent.Create(new { priority = 7 }), headers: h)),
            ("upload", h => host.SendAsync(HttpMethod.Post, "/api/models?id=stolen", Multipart(model, "stolen.onnx"), headers: h)),
        };
        var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(ApiHost.Key)));
        var refusals = new (string Why, (string, string)[] Headers, HttpStatusCode Status)[]
        {
            ("no key", [], HttpStatusCode.Unauthorized),
            ("another scheme", [("Authorization", "Basic " + Convert.ToBase64String(Encoding.ASCII.GetBytes("tester:" + ApiHost.Key)))], HttpStatusCode.Unauthorized),
            ("the key in another header", [("X-Api-Key", ApiHost.Key)], HttpStatusCode.Unauthorized),
            ("a wrong key", [("Authorization", "Bearer wrong-key")], HttpStatusCode.Forbidden),
            ("the stored hash instead of the key", [("Authorization", "Bearer " + hash)], HttpStatusCode.Forbidden),
            ("name:key", [("Authorization", "Bearer tester:" + ApiHost.Key)], HttpStatusCode.Forbidden),
            ("the key with a byte more", [("Authorization", "Bearer " + ApiHost.Key + "x")], HttpStatusCode.Forbidden),
            ("the key cut short", [("Authorization", "Bearer " + ApiHost.Key[..^1])], HttpStatusCode.Forbidden),
        };
        foreach (var (name, send) in writes)
        {
            foreach (var (why, headers, status) in refusals)
            {
                using var response = await send(headers);
                var problem = await ProblemAsync(response, status);
                Assert.DoesNotContain(hash, problem.GetRawText(), StringComparison.Ordinal);
                if (status == HttpStatusCode.Unauthorized)
                {
                    Assert.Equal("Bearer", Assert.Single(response.Headers.WwwAuthenticate).Scheme);
                }
            }
        }

        var after = (await Http.GetFromJsonAsync<JobStatus>($"/api/jobs/{job.Id}", FaultCluster.Json))!;
        Assert.Equal((JobState.Queued, 0), (after.State, after.Spec.Priority));
        Assert.Equal(jobs, (await Http.GetFromJsonAsync<JobStatus[]>("/api/jobs?limit=500", FaultCluster.Json))!.Length);
        await ProblemAsync(await Http.GetAsync("/api/models/stolen"), HttpStatusCode.NotFound, "no model 'stolen'");
        AssertSame(before, await host.SettledBlobsAsync());

        // The scheme is case-insensitive (RFC 9110 §11.1): "bearer <the right key>" is the right key.
        using var lowercase = await host.SendAsync(HttpMethod.Post, $"/api/jobs/{job.Id}/pause", headers: ("Authorization", "bearer " + ApiHost.Key));
        Assert.Equal(HttpStatusCode.OK, lowercase.StatusCode);
        Assert.Equal(JobState.Cancelled, (await ChangeAsync(HttpMethod.Post, job.Id, "cancel")).State);
    }

    [Fact]
    public async Task Uploads_that_are_malformed_oversized_or_reach_outside_are_refused_and_store_nothing()
    {
        var before = await host.SettledBlobsAsync();

        var malformed = await ProblemAsync(await UploadAsync(Encoding.UTF8.GetBytes("this is not an onnx model at all"), "bad.onnx"), HttpStatusCode.BadRequest);
        var reason = malformed.GetProperty("detail").GetString()!;
        Assert.True(reason.Length > 20, reason);
        Assert.DoesNotContain(Path.GetTempPath(), reason, StringComparison.Ordinal);

        var truncated = Model(24);
        await ProblemAsync(await UploadAsync(truncated[..(truncated.Length / 2)], "truncated.onnx"), HttpStatusCode.BadRequest);

        foreach (var location in new[] { "../../../../../etc/passwd", "/etc/passwd", "manifest.json/../../x" })
        {
            var external = TinyModel.SmallCnn(size: 16);
            var weights = external.Graph.Initializer[0];
            var length = weights.FloatData.Count * 4;
            weights.FloatData.Clear();
            weights.RawData = Google.Protobuf.ByteString.Empty;
            weights.DataLocation = TensorProto.Types.DataLocation.External;
            weights.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = location });
            weights.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = length.ToString(System.Globalization.CultureInfo.InvariantCulture) });
            var problem = await ProblemAsync(await UploadAsync(Onnx.OnnxModelFile.ToBytes(external), "external.onnx"), HttpStatusCode.BadRequest, "external data");
            Assert.DoesNotContain("root:", problem.GetRawText(), StringComparison.Ordinal);
        }

        var noImage = new TinyModel();
        noImage.Output(noImage.Op("Gemm", [noImage.Input("x", -1, 10), noImage.Random([5, 10]), noImage.Random([5])], ("transB", 1L)));
        await ProblemAsync(await UploadAsync(noImage.ToBytes(), "vector.onnx"), HttpStatusCode.BadRequest, "image");

        // Over Farm:Api:MaxUploadBytes: told by Content-Length, or found while streaming a chunked body.
        var big = new byte[ApiHost.MaxUploadBytes + 4096];
        new Random(6).NextBytes(big);
        await ProblemAsync(await UploadAsync(big, "huge.onnx"), HttpStatusCode.RequestEntityTooLarge, "limit");
        var bigModel = new byte[ApiHost.MaxUploadBytes + 4096];
        truncated.CopyTo(bigModel, 0);
        using (var chunked = new MultipartFormDataContent { { new StreamContent(new UnknownLengthStream(bigModel)), "model", "chunked.onnx" } })
        {
            await ProblemAsync(await host.SendAsync(HttpMethod.Post, "/api/models", chunked, ApiHost.Key), HttpStatusCode.RequestEntityTooLarge, "limit");
        }

        await ProblemAsync(await host.SendAsync(HttpMethod.Post, "/api/models", new ByteArrayContent(truncated), ApiHost.Key), HttpStatusCode.BadRequest, "multipart/form-data");
        using (var wrongPart = new MultipartFormDataContent { { new ByteArrayContent(truncated), "weights", "x.onnx" } })
        {
            await ProblemAsync(await host.SendAsync(HttpMethod.Post, "/api/models", wrongPart, ApiHost.Key), HttpStatusCode.BadRequest, "unexpected part");
        }

        using (var onlyManifest = new MultipartFormDataContent { { new StringContent("{}"), "manifest", "m.json" } })
        {
            await ProblemAsync(await host.SendAsync(HttpMethod.Post, "/api/models", onlyManifest, ApiHost.Key), HttpStatusCode.BadRequest, "no part named \"model\"");
        }

        using (var badManifest = new MultipartFormDataContent { { new ByteArrayContent(Model(16)), "model", "m.onnx" }, { new StringContent("{not json"), "manifest", "m.json" } })
        {
            await ProblemAsync(await host.SendAsync(HttpMethod.Post, "/api/models", badManifest, ApiHost.Key), HttpStatusCode.BadRequest);
        }

        const string NamesPreprocessing = """{ "id": "prepped", "model": "m.onnx", "input": { "preprocessingModel": "prep.onnx" } }""";
        using (var noPreprocessing = new MultipartFormDataContent { { new ByteArrayContent(Model(16)), "model", "m.onnx" }, { new StringContent(NamesPreprocessing), "manifest", "m.json" } })
        {
            var problem = await ProblemAsync(await host.SendAsync(HttpMethod.Post, "/api/models", noPreprocessing, ApiHost.Key), HttpStatusCode.BadRequest, "no part named \"preprocessing\"");
            Assert.Contains("prep.onnx", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        // A file name that climbs is only a name: the id is made of its safe characters, or it is refused.
        var climbing = await UploadAsync(Model(16), "../../../../escape.onnx", ApiHost.Key, "?id=climber");
        Assert.Equal(HttpStatusCode.Accepted, climbing.StatusCode);
        var info = await Intake.RegisteredAsync(Http, climbing, ApiHost.Key);
        var added = Added(before, await host.SettledBlobsAsync());
        Assert.NotEmpty(added);
        Assert.All(added, b => Assert.True(b.StartsWith("lenses/models/climber/", StringComparison.Ordinal) || b.StartsWith("grains-index/model", StringComparison.Ordinal)
            || b.StartsWith("grains-jobs/", StringComparison.Ordinal), b));
        Assert.DoesNotContain(added, b => b.EndsWith("/intake.json", StringComparison.Ordinal));

        // Nothing refused above left a blob; the one upload that was accepted is served once catalogued.
        Assert.Equal("climber", info.GetProperty("id").GetString());
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync("/api/models/climber/layers")).StatusCode);
        Assert.Contains("climber", (await Http.GetFromJsonAsync<JsonElement>("/api/models")).EnumerateArray().Select(m => m.GetProperty("id").GetString()));
    }

    [Fact]
    public async Task A_fuzz_of_methods_ids_queries_headers_and_bodies_never_gets_a_5xx_and_stores_only_what_was_authorized()
    {
        using var created = await host.SendAsync(HttpMethod.Post, "/api/jobs", JsonContent.Create(new { model = ApiHost.Model, requiredTags = new[] { Nowhere }, clientToken = "fuzz-" + Guid.NewGuid() }), ApiHost.Key);
        var fuzzJob = (await created.Content.ReadFromJsonAsync<JobStatus>(FaultCluster.Json))!.Id;
        var before = await host.SettledBlobsAsync();
        var etag = (await Http.GetAsync(Lens)).Headers.ETag!.Tag;
        var random = new Random(20261129);
        var model = Model(24);

        string[] ids = [ApiHost.Model, ApiHost.Layer, "1", "0", "featurevis", "deepdream", fuzzJob, "..", "..%2F", "%2e%2e", "%2F", "%5C", "%00", "%C3%A9", "%F0%9F%92%A5",
            " ", "-1", "007", "99999999999", "1e3", "a", new string('x', 300), "%25", "%3F", "'", "%22", "null", "Relu_20.", "small-000000-0000"];
        // Every endpoint with its own method; a request uses another method one time in six.
        (string Method, string Template)[] endpoints =
        [
            ("GET", "/api/models{q}"), ("GET", "/api/models/{0}{q}"), ("GET", "/api/models/{0}/layers{q}"), ("GET", "/api/models/small/layers/{0}{q}"),
            ("GET", "/api/models/{0}/layers/{1}{q}"), ("GET", "/api/models/small/layers/{0}/units/{1}{q}"), ("GET", "/api/models/small/layers/Relu_20/units/{0}{q}"),
            ("GET", "/api/models/small/layers/Relu_20/units/{0}/lenses/{1}{q}"), ("GET", "/api/models/small/layers/Relu_20/units/1/lenses/{0}{q}"),
            ("GET", "/api/models/small/layers/Relu_20/units/1/lenses/featurevis{q}"), ("GET", "/api/models/{0}/layers/{1}/units/{2}/lenses/{0}{q}"),
            ("GET", "/api/jobs{q}"), ("GET", "/api/jobs/{0}{q}"), ("GET", "/api/openapi.json{q}"), ("GET", "/api/docs{q}"), ("GET", "/api/{0}{q}"),
            ("POST", "/api/jobs{q}"), ("POST", "/api/jobs{q}"), ("POST", "/api/jobs/{0}/pause{q}"), ("POST", "/api/jobs/{0}/resume{q}"), ("POST", "/api/jobs/{0}/cancel{q}"),
            ("PUT", "/api/jobs/{0}/priority{q}"), ("POST", "/api/models{q}"), ("POST", "/api/models{q}"), ("POST", "/api/models/{0}{q}"),
        ];
        string[] queries = ["", "", "?options=688e4d80ae15", "?options=", "?options=..%2F..%2Fx", "?options=%00", "?id=..%2Fx", "?id=fuzzed", "?replace=maybe", "?replace=true&id=fuzzed",
            "?a=1&a=2", "?%%%", "?options=" + new string('f', 64), "?" + new string('q', 2000)];
        HttpMethod[] methods = [HttpMethod.Get, HttpMethod.Get, HttpMethod.Get, HttpMethod.Post, HttpMethod.Post, HttpMethod.Put, HttpMethod.Delete, HttpMethod.Head, HttpMethod.Patch, HttpMethod.Options];
        (string, string)[] headers =
        [
            ("Range", "bytes=0-99"), ("Range", "bytes=-5"), ("Range", "bytes=5-1"), ("Range", "bytes=0-0,1-1,2-2,3-3,4-4,5-5"), ("Range", "bytes=99999999999999999999-"),
            ("Range", "bytes="), ("Range", "pages=1-2"), ("If-None-Match", etag), ("If-None-Match", "*"), ("If-None-Match", "W/" + etag), ("If-None-Match", "\"unterminated"),
            ("If-None-Match", new string('"', 50)), ("If-Modified-Since", "yesterday"), ("If-Range", etag), ("If-Range", "Tue, 01 Jan 1980 00:00:00 GMT"), ("If-Match", "\"x\""),
            ("Accept", "application/xml"), ("Accept", "*/*;q=nonsense"), ("Accept-Encoding", "br;q=2, gzip"), ("Content-Type", "application/json; charset=utf-7"),
            ("X-Forwarded-For", "10.0.0.1"), ("Authorization", "Bearer"), ("Authorization", "Bearer  "), ("Authorization", "Basic Og=="), ("Authorization", "Bearer " + new string('k', 5000)),
        ];
        string[] bodies =
        [
            "", "{", "[]", "null", "0", "\"small\"", "{\"model\":5}", "{\"model\":\"small\",\"lenses\":[\"xray\"]}", "{\"model\":\"small\",\"units\":[-1]}",
            "{\"model\":\"../x\"}", "{\"model\":\"small\",\"options\":{\"size\":1e9}}", "{\"model\":\"small\",\"unitsPerItem\":0}", "{\"model\":\"small\",\"layers\":[\"nope\"]}",
            "{\"model\":\"small\",\"options\":{\"steps\":-5,\"seed\":1e400}}", "{\"priority\":9}", "{\"priority\":\"9\"}", "{\"priority\":99999999999}",
            "{\"model\":\"small\",\"layers\":[\"Relu_4\"],\"units\":[0],\"lenses\":[\"tuning\"],\"priority\":-3,\"datasetShards\":0}",
            "{\"model\":\"small\",\"options\":{\"dataset\":\"../../etc\",\"family\":\"nope\",\"top\":0}}", new string('[', 5000),
            "{\"model\":\"small\",\"layers\":[\"Relu_4\"],\"units\":[0],\"clientToken\":\"fuzz\"}", "{\"model\":\"small\",\"lenses\":[\"deepdream\"],\"layers\":[\"Relu_20\"]}",
        ];

        var results = new List<(string Request, HttpStatusCode Status, bool Authorized)>();
        var accepted = new List<(string Request, string Body)>();
        for (var i = 0; i < 400; i++)
        {
            var (own, template) = endpoints[random.Next(endpoints.Length)];
            var method = random.Next(6) == 0 ? methods[random.Next(methods.Length)] : new HttpMethod(own);
            var url = template.Replace("{q}", queries[random.Next(queries.Length)], StringComparison.Ordinal)
                .Replace("{0}", Pick(random, ids), StringComparison.Ordinal).Replace("{1}", Pick(random, ids), StringComparison.Ordinal).Replace("{2}", Pick(random, ids), StringComparison.Ordinal);
            var key = random.Next(6) switch { 0 or 1 => null, 2 => "wrong-" + random.Next(), _ => ApiHost.Key };
            var extra = Enumerable.Range(0, random.Next(3)).Select(_ => headers[random.Next(headers.Length)]).ToArray();
            HttpContent? content = null;
            if (method != HttpMethod.Get && method != HttpMethod.Head && random.Next(5) > 0)
            {
                content = url.StartsWith("/api/models", StringComparison.Ordinal) && random.Next(2) == 0
                    ? Multipart(Mutate(random, model), $"fuzz{i}.onnx")
                    : new StringContent(WithNowhereTag(Mutate(random, bodies[random.Next(bodies.Length)])), Encoding.UTF8, random.Next(5) == 0 ? "text/plain" : "application/json");
            }

            if (extra.Any(h => h.Item1 == "Authorization"))
            {
                key = null;
            }

            var request = $"{method} {(url.Length > 200 ? url[..200] + "…" : url)} key={(key == ApiHost.Key ? "right" : key is null ? "none" : "wrong")} {string.Join(" ", extra.Select(h => $"{h.Item1}: {(h.Item2.Length > 40 ? h.Item2[..40] : h.Item2)}"))}";
            var body = content is null ? "" : content is MultipartFormDataContent ? "(model upload)" : await content.ReadAsStringAsync();
            HttpResponseMessage response;
            try
            {
                response = await host.SendAsync(method, url, content, key, extra);
            }
            catch (HttpRequestException e)
            {
                Assert.Fail($"{request} {body}: no answer ({e.Message})\n{host.Output[^Math.Min(host.Output.Length, 4000)..]}");
                throw;
            }

            using (response)
            {
                results.Add((request + " " + (body.Length > 100 ? body[..100] : body), response.StatusCode, key == ApiHost.Key));
                if (response.IsSuccessStatusCode && method != HttpMethod.Get && method != HttpMethod.Head && method != HttpMethod.Options)
                {
                    Assert.True(key == ApiHost.Key, $"a write without the right key was taken: {request} → {(int)response.StatusCode}");
                    accepted.Add((request, await response.Content.ReadAsStringAsync()));
                }
            }
        }

        var failures = results.Where(r => (int)r.Status >= 500).ToList();
        Assert.True(failures.Count == 0, $"{failures.Count} of {results.Count} answered 5xx:\n{string.Join("\n", failures.Take(20).Select(f => $"{(int)f.Status} {f.Request}"))}\n{host.Output[^Math.Min(host.Output.Length, 6000)..]}");

        // The fuzz went where it should: refused writes, problems, images and pending lenses all met.
        var statuses = results.GroupBy(r => r.Status).ToDictionary(g => g.Key, g => g.Count());
        foreach (var status in new[] { HttpStatusCode.OK, HttpStatusCode.BadRequest, HttpStatusCode.Unauthorized, HttpStatusCode.Forbidden, HttpStatusCode.NotFound, HttpStatusCode.MethodNotAllowed })
        {
            Assert.True(statuses.ContainsKey(status), $"no {status} among {string.Join(", ", statuses.Select(s => $"{(int)s.Key}×{s.Value}"))}");
        }

        output.WriteLine($"{results.Count} requests: {string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{(int)s.Key}×{s.Value}"))}; {accepted.Count} writes taken:");
        accepted.ForEach(a => output.WriteLine("  " + a.Request));

        // Only what the right key asked for (and the server took) may have changed a blob: the job ledgers and
        // the models it uploaded. Jobs it submitted carry a tag no worker serves, so nothing renders meanwhile.
        var uploads = accepted.Where(a => a.Request.StartsWith("POST /api/models", StringComparison.Ordinal)).Select(a => JsonDocument.Parse(a.Body).RootElement.Clone()).ToList();
        var uploaded = uploads.Select(u => u.GetProperty("model").GetString()!).ToHashSet();
        var intakes = uploads.Select(u => u.GetProperty("job").GetString()).OfType<string>().ToList();
        var submitted = accepted.Where(a => a.Request.StartsWith("POST /api/jobs ", StringComparison.Ordinal) || a.Request.StartsWith("POST /api/jobs?", StringComparison.Ordinal))
            .Select(a => JsonDocument.Parse(a.Body).RootElement.GetProperty("id").GetString()!).ToList();
        foreach (var job in submitted.Append(fuzzJob))
        {
            await ChangeAsync(HttpMethod.Post, job, "cancel");
        }

        var after = await host.SettledBlobsAsync();
        var changed = before.Keys.Union(after.Keys).Where(k => before.GetValueOrDefault(k) != after.GetValueOrDefault(k)).ToList();
        Assert.All(changed, blob => Assert.True(
            blob.StartsWith("grains-jobs/", StringComparison.Ordinal)
            || uploaded.Any(m => blob.StartsWith($"lenses/models/{m}/", StringComparison.Ordinal) || blob == $"grains-index/model-model/{m}.json")
            || (uploaded.Count > 0 && blob == "grains-index/models-modeldirectory/0.json"),
            $"{blob} changed; accepted writes:\n{string.Join("\n", accepted.Select(a => a.Request))}"));
        Assert.All(changed.Where(b => b.StartsWith("grains-jobs/job-job/", StringComparison.Ordinal)), blob =>
            Assert.Contains(submitted.Append(fuzzJob).Concat(intakes), j => blob == $"grains-jobs/job-job/{j}.json"));
        Assert.DoesNotContain(after.Keys, b => b.StartsWith("lenses/", StringComparison.Ordinal) && !b.StartsWith("lenses/models/", StringComparison.Ordinal));
        Assert.Equal(before.Keys.Count(k => k.Contains("/units/", StringComparison.Ordinal)), after.Keys.Count(k => k.Contains("/units/", StringComparison.Ordinal)));
    }

    private static string Pick(Random random, string[] ids) => ids[random.Next(ids.Length)];

    /// <summary>Flips, drops or duplicates a few characters (or bytes), sometimes cuts the end off.</summary>
    private static string Mutate(Random random, string text)
    {
        if (text.Length < 3 || random.Next(3) == 0)
        {
            return text;
        }

        var chars = new StringBuilder(text);
        for (var n = random.Next(1, 4); n > 0 && chars.Length > 1; n--)
        {
            var at = random.Next(chars.Length);
            switch (random.Next(3))
            {
                case 0: chars[at] = (char)random.Next(32, 127); break;
                case 1: chars.Remove(at, 1); break;
                default: chars.Insert(at, chars[at]); break;
            }
        }

        return random.Next(6) == 0 ? chars.ToString()[..random.Next(chars.Length)] : chars.ToString();
    }

    private static byte[] Mutate(Random random, byte[] model)
    {
        var mutated = (byte[])model.Clone();
        for (var flips = random.Next(0, 12); flips > 0; flips--)
        {
            mutated[random.Next(mutated.Length)] = (byte)random.Next(256);
        }

        return random.Next(4) == 0 ? mutated[..random.Next(mutated.Length)] : mutated;
    }

    /// <summary>
    /// A job body that the server may take lands on no worker: whatever the mutation left, the body ends
    /// by requiring a tag that no worker has (a later duplicate property wins), or it is not JSON at all.
    /// </summary>
    private static string WithNowhereTag(string body) =>
        body.EndsWith('}') && body.Length > 2 ? body[..^1] + $",\"requiredTags\":[\"{Nowhere}\"]}}" : body;

    private async Task<JobStatus> ChangeAsync(HttpMethod method, string job, string action, HttpContent? content = null)
    {
        using var response = await host.SendAsync(method, $"/api/jobs/{job}/{action}", content, ApiHost.Key);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{action} {job}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return (await response.Content.ReadFromJsonAsync<JobStatus>(FaultCluster.Json))!;
    }

    private Task<HttpResponseMessage> UploadAsync(byte[] model, string fileName, string? key = ApiHost.Key, string query = "") =>
        host.SendAsync(HttpMethod.Post, "/api/models" + query, Multipart(model, fileName), key);

    private static MultipartFormDataContent Multipart(byte[] model, string fileName) => new() { { new ByteArrayContent(model), "model", fileName } };

    private static byte[] Model(int size) => Onnx.OnnxModelFile.ToBytes(TinyModel.SmallCnn(size: size));

    /// <summary>Asserts an RFC 7807 answer with this status whose detail names what is wrong; returns it.</summary>
    private static async Task<JsonElement> ProblemAsync(HttpResponseMessage response, HttpStatusCode status, string? detail = null)
    {
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == status, $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri}: {(int)response.StatusCode}, not {(int)status}: {text}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            var problem = JsonDocument.Parse(text).RootElement.Clone();
            Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
            Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("title").GetString()));
            if (detail is not null)
            {
                Assert.Contains(detail, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
            }

            return problem;
        }
    }

    private static void AssertSame(SortedDictionary<string, string> before, SortedDictionary<string, string> after)
    {
        var changed = before.Keys.Union(after.Keys).Where(k => before.GetValueOrDefault(k) != after.GetValueOrDefault(k)).ToList();
        Assert.True(changed.Count == 0, "blobs changed by refused writes: " + string.Join(", ", changed));
    }

    private static List<string> Added(SortedDictionary<string, string> before, SortedDictionary<string, string> after) =>
        [.. after.Keys.Where(k => before.GetValueOrDefault(k) != after[k])];

    /// <summary>A body whose length is not known up front, so the client sends it chunked (no Content-Length).</summary>
    private sealed class UnknownLengthStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;
    }
}
