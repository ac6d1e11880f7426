using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microscope.Testing;
using Xunit.Abstractions;

namespace Microscope.Farm.FaultTests;

/// <summary>
/// The hostile suite's fixed corpus: every request a hostile test of the API once got a 5xx, a
/// wrong status, stored state or a flooded log with (issue 16), kept as cases of their own against
/// the real farm process on Azurite. The generated part is <see cref="HostileFuzzTests"/>.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class HostileTests(ApiHost host, ITestOutputHelper output)
{
    private HttpClient Http => host.Http;

    [Fact]
    public async Task Ids_with_control_characters_or_look_alikes_are_refused_everywhere_and_store_nothing()
    {
        var before = await host.SettledBlobsAsync();
        var model = Model(20);
        foreach (var id in (string[])["tinynl%0A", "tinynl%0D%0A", "res%D0%BDet", "gpu%E2%80%8B", "%EF%BC%91", "tiny%00", "tiny%09"])
        {
            await ProblemAsync(await host.SendAsync(HttpMethod.Post, $"/api/models?id={id}", Multipart(model, "tiny.onnx"), ApiHost.Key), HttpStatusCode.BadRequest, "not a valid model id");
        }

        foreach (var path in (string[])["/api/models/small%0a", "/api/models/small%0A/layers", $"/api/models/small/layers/{ApiHost.Layer}%0a", $"/api/models/small/layers/{ApiHost.Layer}%0a/units/1",
            "/api/models/sm%D0%B0ll", "/api/jobs/small-000000-0000%0a"])
        {
            await ProblemAsync(await Http.GetAsync(path), HttpStatusCode.BadRequest, "not a valid");
        }

        await ProblemAsync(await host.SendAsync(HttpMethod.Post, "/api/jobs/small-000000-0000%0a/pause", key: ApiHost.Key), HttpStatusCode.BadRequest, "not a valid job id");
        foreach (var body in (string[])[
            """{"model":"small\n"}""", """{"model":"small","requiredTags":["gpu\n"]}""", """{"model":"small","options":{"dataset":"default\n"}}""",
            """{"model":"small","layers":["Relu_20\n"]}""", """{"model":"small","requiredTags":["gp\u0443"]}""", """{"model":"small","clientToken":"t\n"}"""])
        {
            await ProblemAsync(await host.SendAsync(HttpMethod.Post, "/api/jobs", Json(body), ApiHost.Key), HttpStatusCode.BadRequest);
        }

        AssertSame(before, await host.SettledBlobsAsync());
    }

    [Theory]
    [InlineData(4096)]
    [InlineData(100_000)]
    public async Task A_model_declaring_a_huge_input_is_refused_naming_the_limit_before_its_probe_runs(int size)
    {
        var before = await host.SettledBlobsAsync();
        var memory = host.Memory();
        var started = DateTime.UtcNow;

        // Accepted by the request (it parses and has an image input); the render silo's catalog refuses it before its probe runs.
        using var accepted = await host.SendAsync(HttpMethod.Post, $"/api/models?id=huge{size}", Multipart(Model(size), "huge.onnx"), ApiHost.Key);
        var status = await Intake.SettledAsync(Http, accepted, ApiHost.Key);
        Assert.Equal("Failed", status.GetProperty("state").GetString());
        Assert.Contains("Farm:Catalog:MaxProbePixels", status.GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", status.GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(30), "the refusal took " + (DateTime.UtcNow - started));
        var after = host.Memory();
        Assert.True(after.Peak - memory.Peak < 200L << 20, $"peak memory grew by {(after.Peak - memory.Peak) >> 20} MB");
        Assert.Equal(HttpStatusCode.NotFound, (await Http.GetAsync($"/api/models/huge{size}")).StatusCode);

        // Nothing of the model stays in the lens store; its model grain and intake job record the refusal.
        var settled = await host.SettledBlobsAsync();
        var changed = before.Keys.Union(settled.Keys).Where(k => before.GetValueOrDefault(k) != settled.GetValueOrDefault(k)).ToList();
        Assert.All(changed, b => Assert.True(b.StartsWith("grains-", StringComparison.Ordinal), b));
    }

    [Fact]
    public async Task Huge_lists_are_refused_and_the_jobs_listing_is_paged_without_specs()
    {
        var before = await host.SettledBlobsAsync();
        await ProblemAsync(await host.SendAsync(HttpMethod.Post, "/api/jobs", JsonContent.Create(new { model = "small", units = Enumerable.Range(0, 1_000_000) }), ApiHost.Key),
            HttpStatusCode.BadRequest, "at most 10000");
        await ProblemAsync(await host.SendAsync(HttpMethod.Post, "/api/jobs", JsonContent.Create(new { model = "small", layers = Enumerable.Repeat(ApiHost.Layer, 100_000) }), ApiHost.Key),
            HttpStatusCode.BadRequest, "at most 10000");
        await ProblemAsync(await host.SendAsync(HttpMethod.Post, "/api/jobs", JsonContent.Create(new { model = "small", layers = new[] { ApiHost.Layer }, units = new[] { 0, 999 } }), ApiHost.Key),
            HttpStatusCode.BadRequest, "unit 999 is in none of the layers");
        AssertSame(before, await host.SettledBlobsAsync());

        // A job's units are stored deduplicated and read as ranges; the listing has no specs, the job's own URL does.
        using var created = await host.SendAsync(HttpMethod.Post, "/api/jobs", JsonContent.Create(new
        {
            model = "small", layers = new[] { ApiHost.Layer, ApiHost.Layer }, units = new[] { 3, 1, 2, 1, 5 }, requiredTags = new[] { "hostile-no-such-worker" }, clientToken = "hostile-" + Guid.NewGuid(),
        }), ApiHost.Key);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var job = await created.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal([ApiHost.Layer], job.GetProperty("spec").GetProperty("layers").EnumerateArray().Select(l => l.GetString()));
        Assert.Equal([1, 2, 3, 5], job.GetProperty("spec").GetProperty("units").EnumerateArray().Select(u => u.GetInt32()));

        using var first = await Http.GetAsync("/api/jobs?limit=1");
        var page = await first.Content.ReadFromJsonAsync<JsonElement>();
        var listed = Assert.Single(page.EnumerateArray());
        Assert.Equal(job.GetProperty("id").GetString(), listed.GetProperty("id").GetString());
        Assert.False(listed.TryGetProperty("spec", out _));
        Assert.Equal("1-3,5", listed.GetProperty("units").GetString());
        Assert.Equal(1, listed.GetProperty("layers").GetInt32());
        Assert.Equal("</api/jobs?limit=1&offset=1>; rel=\"next\"", first.Headers.GetValues("Link").Single());
        var all = await Http.GetFromJsonAsync<JsonElement>("/api/jobs");
        Assert.InRange(all.GetArrayLength(), 1, 50);
        var second = await Http.GetFromJsonAsync<JsonElement>("/api/jobs?limit=1&offset=1");
        Assert.NotEqual(listed.GetProperty("id").GetString(), second[0].GetProperty("id").GetString());
        foreach (var query in (string[])["limit=0", "limit=501", "limit=x", "offset=-1", "limit=1e3", "limit=%0a1"])
        {
            await ProblemAsync(await Http.GetAsync("/api/jobs?" + query), HttpStatusCode.BadRequest, "?limit=");
        }

        await CancelAsync(job.GetProperty("id").GetString()!);
    }

    [Theory]
    [InlineData("""{"model":"small","lenses":null}""")]
    [InlineData("""{"model":"small","lenses":[null]}""")]
    [InlineData("""{"model":"small","layers":null}""")]
    [InlineData("""{"model":"small","layers":[null]}""")]
    [InlineData("""{"model":"small","options":null}""")]
    [InlineData("""{"model":"small","requiredTags":null}""")]
    [InlineData("""{"model":"small","requiredTags":[null]}""")]
    [InlineData("""{"model":null}""")]
    [InlineData("""{"model":"small","units":[null]}""")]
    [InlineData("""{"model":"small","options":{"dataset":null}}""")]
    [InlineData("""{"model":"small","options":{"family":null}}""")]
    public async Task Nulls_in_a_job_body_are_400_and_create_nothing(string body)
    {
        var before = await host.SettledBlobsAsync();
        await ProblemAsync(await host.SendAsync(HttpMethod.Post, "/api/jobs", Json(body), ApiHost.Key), HttpStatusCode.BadRequest);
        AssertSame(before, await host.SettledBlobsAsync());
    }

    [Fact]
    public async Task Null_manifests_and_truncated_multipart_uploads_are_400_and_store_nothing()
    {
        var before = await host.SettledBlobsAsync();
        var model = Model(20);
        foreach (var manifest in (string[])[
            """{"id":"nulls","model":"m.onnx","input":null}""", """{"id":"nulls","model":"m.onnx","layers":null}""", """{"id":"nulls","model":"m.onnx","layers":{"hide":null}}""",
            """{"id":"nulls","model":"m.onnx","layers":{"add":[null]}}""", """{"id":"nulls","model":"m.onnx","input":{"mean":null}}""", """{"id":"nulls","model":"m.onnx","input":{"size":null}}""",
            """{"id":"nulls","model":null}""", """{"id":null,"model":"m.onnx"}""", """{"id":"nulls","model":"m.onnx","title":null,"layers":{"aliases":{"a":null}}}"""])
        {
            var content = Multipart(model, "nulls.onnx");
            content.Add(new StringContent(manifest, Encoding.UTF8, "application/json"), "manifest", "manifest.json");
            await ProblemAsync(await host.SendAsync(HttpMethod.Post, "/api/models", content, ApiHost.Key), HttpStatusCode.BadRequest);
        }

        var whole = await Multipart(model, "cut.onnx").ReadAsByteArrayAsync();
        var boundary = Encoding.ASCII.GetString(whole).Split("\r\n")[0][2..];
        foreach (var cut in (int[])[whole.Length - boundary.Length - 6, whole.Length / 2, 40])
        {
            var body = new ByteArrayContent(whole[..cut]);
            body.Headers.ContentType = MediaTypeHeaderValue.Parse($"multipart/form-data; boundary={boundary}");
            await ProblemAsync(await host.SendAsync(HttpMethod.Post, "/api/models", body, ApiHost.Key), HttpStatusCode.BadRequest);
        }

        Assert.Equal(HttpStatusCode.NotFound, (await Http.GetAsync("/api/models/nulls")).StatusCode);
        AssertSame(before, await host.SettledBlobsAsync());
    }

    [Fact]
    public async Task An_upload_refused_because_the_id_exists_leaves_nothing_in_the_store()
    {
        var before = await host.SettledBlobsAsync();
        await ProblemAsync(await host.SendAsync(HttpMethod.Post, $"/api/models?id={ApiHost.Model}", Multipart(Model(28), "other.onnx"), ApiHost.Key), HttpStatusCode.Conflict, "?replace=true");
        AssertSame(before, await host.SettledBlobsAsync());
    }

    [Fact]
    public async Task Access_is_checked_before_the_body_is_read()
    {
        foreach (var (method, path) in new[] { (HttpMethod.Post, "/api/jobs"), (HttpMethod.Put, "/api/jobs/small-000000-0000/priority"), (HttpMethod.Post, "/api/models") })
        {
            await ProblemAsync(await host.SendAsync(method, path, Json("{not json")), HttpStatusCode.Unauthorized, "Authorization: Bearer");
            await ProblemAsync(await host.SendAsync(method, path, Json("{not json"), "wrong-key"), HttpStatusCode.Forbidden, "not known");
        }

        // With the key the same body is what is wrong.
        await ProblemAsync(await host.SendAsync(HttpMethod.Post, "/api/jobs", Json("{not json"), ApiHost.Key), HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Client_errors_are_logged_as_one_line_without_a_stack()
    {
        var start = host.Output.Length;
        for (var i = 0; i < 20; i++)
        {
            (await Http.GetAsync($"/api/models/no-such-{i}")).Dispose();
            (await Http.GetAsync("/api/models/small%0a")).Dispose();
            (await host.SendAsync(HttpMethod.Post, "/api/jobs", Json("{\"model\":\"small\",\"lenses\":[\"xray\"]}"), ApiHost.Key)).Dispose();
            (await host.SendAsync(HttpMethod.Post, "/api/jobs", Json("{not json"), ApiHost.Key)).Dispose();
        }

        await Task.Delay(500);
        var logged = host.Output[start..].Split('\n', StringSplitOptions.RemoveEmptyEntries);
        output.WriteLine($"{logged.Length} lines for 80 client errors:");
        Array.ForEach(logged, l => output.WriteLine(l));
        Assert.DoesNotContain(logged, l => l.Contains("fail:", StringComparison.Ordinal) || l.Contains("crit:", StringComparison.Ordinal));
        Assert.DoesNotContain(logged, l => l.Contains("warn:", StringComparison.Ordinal) && l.Contains("Exception", StringComparison.Ordinal));
        Assert.DoesNotContain(logged, l => l.TrimStart().StartsWith("at ", StringComparison.Ordinal));
        Assert.True(logged.Length <= 80 * 2, string.Join('\n', logged.Take(20)));
    }

    [Fact]
    public async Task A_job_past_the_item_or_cost_ceiling_is_refused_naming_the_setting()
    {
        var before = await host.SettledBlobsAsync();

        // The top of every documented range, one unit per item.
        await ProblemAsync(await host.SendAsync(HttpMethod.Post, "/api/jobs", JsonContent.Create(new
        {
            model = "small", lenses = FarmLenses.All.Select(l => l.Name), options = new { steps = 100_000, size = 2048 }, unitsPerItem = 1, datasetShards = 256,
        }), ApiHost.Key), HttpStatusCode.BadRequest, "Farm:Api:Quotas:ItemsPerJob = 200");
        await ProblemAsync(await host.SendAsync(HttpMethod.Post, "/api/jobs", JsonContent.Create(new
        {
            model = "small", layers = new[] { ApiHost.Layer }, options = new { steps = 100_000, size = 2048 },
        }), ApiHost.Key), HttpStatusCode.BadRequest, "Farm:Api:Quotas:CostPerJob");
        AssertSame(before, await host.SettledBlobsAsync());
    }

    [Fact]
    public async Task Head_is_answered_wherever_get_is_and_probes_answer_only_get_and_head()
    {
        foreach (var path in (string[])["/", "/ui/app.js", "/api/openapi.json", "/api/docs", "/jobs", "/api/jobs", "/healthz", "/alive", "/metrics"])
        {
            using var get = await Http.GetAsync(path);
            using var head = await Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, path));
            Assert.True(get.StatusCode == HttpStatusCode.OK, $"GET {path}: {(int)get.StatusCode}");
            Assert.True(head.StatusCode == HttpStatusCode.OK, $"HEAD {path}: {(int)head.StatusCode}");
            Assert.Equal(get.Content.Headers.ContentType, head.Content.Headers.ContentType);
            Assert.Empty(await head.Content.ReadAsByteArrayAsync());
        }

        foreach (var path in (string[])["/healthz", "/alive", "/metrics"])
        {
            foreach (var method in (string[])["TRACE", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "PROPFIND"])
            {
                using var response = await Http.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
                Assert.True(response.StatusCode == HttpStatusCode.MethodNotAllowed, $"{method} {path}: {(int)response.StatusCode}");
            }
        }
    }

    private async Task CancelAsync(string job) =>
        (await host.SendAsync(HttpMethod.Post, $"/api/jobs/{job}/cancel", key: ApiHost.Key)).EnsureSuccessStatusCode().Dispose();

    internal static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    internal static MultipartFormDataContent Multipart(byte[] model, string fileName) => new() { { new ByteArrayContent(model), "model", fileName } };

    internal static byte[] Model(int size) => Onnx.OnnxModelFile.ToBytes(TinyModel.SmallCnn(size: size));

    /// <summary>Asserts an RFC 7807 answer with this status whose detail names what is wrong.</summary>
    internal static async Task ProblemAsync(HttpResponseMessage response, HttpStatusCode status, string? detail = null)
    {
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == status, $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri}: {(int)response.StatusCode}, not {(int)status}: {text}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            if (detail is not null)
            {
                Assert.Contains(detail, JsonDocument.Parse(text).RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
            }
        }
    }

    internal static void AssertSame(SortedDictionary<string, string> before, SortedDictionary<string, string> after)
    {
        var changed = before.Keys.Union(after.Keys).Where(k => before.GetValueOrDefault(k) != after.GetValueOrDefault(k)).ToList();
        Assert.True(changed.Count == 0, "blobs changed by refused requests: " + string.Join(", ", changed));
    }
}
