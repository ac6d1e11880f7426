using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Xunit.Abstractions;

namespace Microscope.Farm.FaultTests;

/// <summary>
/// The hostile suite's generated part: a seeded, reproducible stream of requests over every route of
/// the real farm process on Azurite: control characters and look-alikes in every path and body id,
/// nulls and wrong types in every JSON field, huge lists, truncated and malformed multipart, every
/// spelling of the auth header, and model files declaring huge inputs. No answer may be a 5xx, nothing
/// a refused request sent may change the models, the jobs or the store, and the server's memory stays
/// bounded. The counts it prints are recorded in docs/security.md.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class HostileFuzzTests(ApiHost host, ITestOutputHelper output)
{
    public const int Seed = 16_2026;
    public const int Requests = 2400;
    private const string Nowhere = "hostile-fuzz-no-such-worker";

    /// <summary>Ids as a path segment sends them (already escaped): valid ones, control characters, look-alikes, traversal, empty and over-long.</summary>
    private static readonly string[] PathIds =
    [
        ApiHost.Model, ApiHost.Layer, "1", "0", "featurevis", "deepdream", "small%0a", "small%0A", "small%0d%0a", "%0asmall", "small%00", "small%09", "small%7f",
        "sm%D0%B0ll", "Relu%E2%80%A420", "%EF%BC%91", "small%E2%80%8B", "%EF%BB%BFsmall", "sm%C3%A1ll", "..", "..%2F..%2Fetc", "%2e%2e", "%5C", "%20", "-1", "007",
        "99999999999", "1e3", new string('x', 129), new string('x', 4000), "%25", "%3F", "'", "%22", "null", "Relu_20.", "small-000000-0000", "small-000000-0000%0a",
    ];

    /// <summary>Ids as a JSON string holds them: the same hostile set, escaped for JSON.</summary>
    private static readonly string[] BodyIds =
    [
        "small", "Relu_20", "small\n", "small\r\n", "\nsmall", "small\u0000", "small\t", "sm\u0430ll", "Relu\u202420", "\uff11", "small\u200b", "\ufeffsmall", "",
        " ", "..", "../x", "a/b", new string('x', 129), new string('y', 20_000), "gpu\n", "default\n", "\u0085", "\u2028",
    ];

    private static readonly (string Method, string Template)[] Routes =
    [
        ("GET", "/api/models"), ("GET", "/api/models/{0}"), ("GET", "/api/models/{0}/layers"), ("GET", "/api/models/small/layers/{0}"),
        ("GET", "/api/models/{0}/layers/{1}/units/{2}"), ("GET", "/api/models/small/layers/Relu_20/units/{0}/lenses/{1}"),
        ("GET", "/api/models/small/layers/Relu_20/units/1/lenses/{0}"), ("GET", "/api/jobs"), ("GET", "/api/jobs/{0}"), ("GET", "/api/workers"),
        ("GET", "/api/openapi.json"), ("GET", "/api/docs"), ("GET", "/"), ("GET", "/ui/{0}"), ("GET", "/models/{0}"), ("GET", "/jobs"),
        ("GET", "/healthz"), ("GET", "/alive"), ("GET", "/metrics"),
        ("POST", "/api/jobs"), ("POST", "/api/jobs"), ("POST", "/api/jobs"), ("POST", "/api/jobs/{0}/pause"), ("POST", "/api/jobs/{0}/resume"),
        ("POST", "/api/jobs/{0}/cancel"), ("PUT", "/api/jobs/{0}/priority"), ("POST", "/api/models"), ("POST", "/api/models"),
        ("POST", "/api/workers/{0}/drain"), ("POST", "/api/workers/{0}/undrain"),
    ];

    private static readonly string[] Queries =
    [
        "", "", "", "?limit=1", "?limit=0", "?limit=999999", "?offset=-1", "?limit=%0a5", "?options=688e4d80ae15", "?options=%0a", "?id={b}", "?id=fuzz{n}", "?replace=true&id=fuzz{n}",
        "?replace=maybe", "?steps=%0a4", "?size=99999999999", "?dataset=default%0a", "?family=%D0%B0", "?a=1&a=2", "?%%%", "?" + new string('q', 3000),
    ];

    [Fact]
    public async Task Generated_hostile_requests_over_every_route_get_no_5xx_change_nothing_when_refused_and_keep_memory_bounded()
    {
        var clock = Stopwatch.StartNew();
        var random = new Random(Seed);
        var before = await host.SettledBlobsAsync();
        var models = await ModelsAsync();
        var jobs = await JobIdsAsync();
        var memory = host.Memory();
        var small = HostileTests.Model(20);
        var huge = HostileTests.Model(4096);

        var statuses = new Dictionary<int, int>();
        var categories = new Dictionary<string, int>();
        var failures = new List<string>();
        var accepted = new List<(string Request, string Body)>();
        for (var n = 0; n < Requests; n++)
        {
            var (own, template) = Routes[random.Next(Routes.Length)];
            var method = random.Next(8) == 0 ? new HttpMethod(Pick(random, ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"])) : new HttpMethod(own);
            var url = template.Replace("{0}", Pick(random, PathIds), StringComparison.Ordinal).Replace("{1}", Pick(random, PathIds), StringComparison.Ordinal)
                .Replace("{2}", Pick(random, PathIds), StringComparison.Ordinal)
                + Pick(random, Queries).Replace("{b}", Pick(random, PathIds), StringComparison.Ordinal).Replace("{n}", n.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
            var (authorization, right) = Authorization(random);
            var (category, content) = method == HttpMethod.Get || method == HttpMethod.Head ? ("read", null)
                : url.StartsWith("/api/models", StringComparison.Ordinal) ? Upload(random, small, huge)
                : url.StartsWith("/api/jobs", StringComparison.Ordinal) && url.EndsWith("/priority", StringComparison.Ordinal) ? ("json", HostileTests.Json(Priority(random)))
                : url.StartsWith("/api/jobs", StringComparison.Ordinal) && !url.Contains("/pause", StringComparison.Ordinal) && !url.Contains("/resume", StringComparison.Ordinal) && !url.Contains("/cancel", StringComparison.Ordinal)
                    ? JobBody(random, n)
                    : ("none", null);
            categories[category] = categories.GetValueOrDefault(category) + 1;
            var body = content is null or MultipartFormDataContent or ByteArrayContent ? $"({category})" : await content.ReadAsStringAsync();
            var request = $"#{n} {method} {Short(url, 160)} auth={Short(authorization ?? "none", 40)} {Short(body, 160)}";

            using var message = new HttpRequestMessage(method, url) { Content = content };
            if (authorization is not null)
            {
                message.Headers.TryAddWithoutValidation("Authorization", authorization);
            }

            HttpResponseMessage response;
            try
            {
                response = await host.Http.SendAsync(message);
            }
            catch (HttpRequestException e)
            {
                failures.Add($"{request}: no answer ({e.Message})");
                continue;
            }

            using (response)
            {
                var status = (int)response.StatusCode;
                statuses[status] = statuses.GetValueOrDefault(status) + 1;
                if (status >= 500)
                {
                    failures.Add($"{status} {request}");
                }
                else if (response.IsSuccessStatusCode && method != HttpMethod.Get && method != HttpMethod.Head && method != HttpMethod.Options)
                {
                    Assert.True(right, $"a write without the right key was taken: {request} → {status}");
                    accepted.Add((request, await response.Content.ReadAsStringAsync()));
                }
            }
        }

        var elapsed = clock.Elapsed;
        var after = host.Memory();
        output.WriteLine($"{Requests} requests (seed {Seed}) in {elapsed.TotalSeconds:0.0} s: {string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}×{s.Value}"))}");
        output.WriteLine($"by class: {string.Join(", ", statuses.GroupBy(s => s.Key / 100).OrderBy(g => g.Key).Select(g => $"{g.Key}xx×{g.Sum(s => s.Value)}"))}");
        output.WriteLine($"by body: {string.Join(", ", categories.OrderBy(c => c.Key).Select(c => $"{c.Key}×{c.Value}"))}; {accepted.Count} writes taken");
        output.WriteLine($"server memory: resident {memory.Resident >> 20} → {after.Resident >> 20} MB, peak {memory.Peak >> 20} → {after.Peak >> 20} MB");
        Assert.True(failures.Count == 0, $"{failures.Count} of {Requests} failed:\n{string.Join("\n", failures.Take(20))}\n{host.Output[^Math.Min(host.Output.Length, 6000)..]}");
        Assert.True(after.Peak - memory.Peak < 300L << 20, $"the server's peak memory grew by {(after.Peak - memory.Peak) >> 20} MB");
        Assert.True(statuses.Keys.Count(s => s is >= 400 and < 500) >= 6, "the fuzz met too few kinds of refusal");

        // What changed is exactly what the accepted writes asked for: their jobs, their models, nothing else.
        var uploaded = accepted.Where(a => a.Request.Contains(" POST /api/models", StringComparison.Ordinal))
            .Select(a => JsonDocument.Parse(a.Body).RootElement.GetProperty("model").GetString()!).ToHashSet();

        // Each accepted upload has its intake job (a render silo catalogs it), listed with the jobs.
        var intakes = accepted.Where(a => a.Request.Contains(" POST /api/models", StringComparison.Ordinal))
            .Select(a => JsonDocument.Parse(a.Body).RootElement.GetProperty("job").GetString()).OfType<string>().ToHashSet();
        var submitted = accepted.Where(a => a.Request.Contains(" POST /api/jobs", StringComparison.Ordinal) && JsonDocument.Parse(a.Body).RootElement.TryGetProperty("spec", out _))
            .Select(a => JsonDocument.Parse(a.Body).RootElement).ToList();
        Assert.All(submitted, s => Assert.Equal("tester", s.GetProperty("spec").GetProperty("owner").GetString()));
        Assert.All(submitted, s => Assert.NotEqual(0, s.GetProperty("spec").GetProperty("requiredTags").GetArrayLength()));
        var submittedIds = submitted.Select(s => s.GetProperty("id").GetString()!).ToHashSet();
        foreach (var job in submittedIds)
        {
            (await host.SendAsync(HttpMethod.Post, $"/api/jobs/{job}/cancel", key: ApiHost.Key)).Dispose();
        }

        var modelsAfter = await ModelsAsync();
        Assert.Equal(models.Concat(modelsAfter.Where(m => uploaded.Contains(m.Key))).OrderBy(m => m.Key), modelsAfter.OrderBy(m => m.Key));
        Assert.Equal(jobs.Union(submittedIds).Union(intakes).Order(), (await JobIdsAsync()).Order());
        var blobs = await host.SettledBlobsAsync();
        var changed = before.Keys.Union(blobs.Keys).Where(k => before.GetValueOrDefault(k) != blobs.GetValueOrDefault(k)).ToList();
        Assert.All(changed, blob => Assert.True(
            submittedIds.Concat(intakes).Any(j => blob == $"grains-jobs/job-job/{j}.json") || (blob.StartsWith("grains-jobs/", StringComparison.Ordinal) && !blob.StartsWith("grains-jobs/job-job/", StringComparison.Ordinal))
            || uploaded.Any(m => blob.StartsWith($"lenses/models/{m}/", StringComparison.Ordinal) || blob == $"grains-index/model-model/{m}.json")
            || (uploaded.Count > 0 && blob == "grains-index/models-modeldirectory/0.json"),
            $"{blob} changed; accepted writes:\n{string.Join("\n", accepted.Select(a => a.Request))}"));
        Assert.True(clock.Elapsed < TimeSpan.FromMinutes(3), $"the suite took {clock.Elapsed}");
    }

    /// <summary>The Authorization header: none, the right key in every spelling (case, spaces, tabs), wrong keys and other schemes.</summary>
    private static (string? Header, bool Right) Authorization(Random random) => random.Next(12) switch
    {
        0 or 1 => (null, false),
        2 => ("Bearer wrong-" + random.Next(), false),
        3 => (Pick(random, ["Basic Og==", "Bearer", "Bearer ", "Token " + ApiHost.Key, "Bearer" + ApiHost.Key, ApiHost.Key, "Bearer " + new string('k', 6000), "Bearer " + ApiHost.Key + "x", "Bearer " + ApiHost.Key.ToUpperInvariant()]), false),
        4 => ("bearer " + ApiHost.Key, true),
        5 => ("BEARER " + ApiHost.Key, true),
        6 => ("Bearer  " + ApiHost.Key, true),
        7 => ("Bearer\t" + ApiHost.Key, true),
        8 => (" Bearer " + ApiHost.Key + " ", true),
        _ => ("Bearer " + ApiHost.Key, true),
    };

    /// <summary>A job body: a valid job (for no worker) with one field made hostile, or something that is not a job at all.</summary>
    private static (string Category, HttpContent Content) JobBody(Random random, int n)
    {
        if (random.Next(10) == 0)
        {
            return ("malformed", HostileTests.Json(Pick(random, ["", "{", "{not json", "[]", "null", "0", "\"small\"", new string('[', 5000), "{\"model\":\"small\"", "{\"model\":\"small\"}}"])));
        }

        var job = new JsonObject
        {
            ["model"] = "small", ["layers"] = new JsonArray("Relu_20"), ["units"] = new JsonArray(0), ["lenses"] = new JsonArray("featurevis"),
            ["options"] = new JsonObject { ["steps"] = 4, ["size"] = 32 }, ["requiredTags"] = new JsonArray(Nowhere), ["clientToken"] = $"hostile-{Seed}-{n}",
        };
        string[] fields = ["model", "layers", "units", "lenses", "options", "requiredTags", "clientToken", "priority", "unitsPerItem", "datasetShards",
            "options.steps", "options.size", "options.seed", "options.dataset", "options.family", "options.top", "options.fourier"];
        var field = Pick(random, fields);
        var (parent, name) = field.StartsWith("options.", StringComparison.Ordinal) ? ((JsonObject)job["options"]!, field[8..]) : (job, field);
        var kind = random.Next(7);
        parent[name] = kind switch
        {
            0 => null,
            1 => Pick<JsonNode>(random, [JsonValue.Create(5), JsonValue.Create(true), JsonValue.Create(-1.5e300), new JsonObject(), JsonValue.Create("x")]),
            2 => HostileId(random, name),
            3 => new JsonArray([.. Enumerable.Repeat(0, 20_000).Select((_, i) => name is "units" ? (JsonNode?)JsonValue.Create(i) : JsonValue.Create(i % 2 == 0 ? "Relu_20" : "Relu_4"))]),
            4 => new JsonArray(null, JsonValue.Create(1), JsonValue.Create("\n")),
            5 => JsonValue.Create(random.Next(2) == 0 ? long.MaxValue : int.MinValue),
            _ => new JsonArray([.. Enumerable.Range(0, 17).Select(i => (JsonNode?)JsonValue.Create($"tag{i}"))]),
        };

        // A field made hostile must never turn the job into one a worker would take: the tag is the job's anchor.
        if (name == "requiredTags" && parent[name] is JsonArray { Count: 0 })
        {
            parent[name] = new JsonArray(Nowhere);
        }

        return ($"json-{(kind switch { 0 => "null", 1 => "type", 2 => "id", 3 => "huge", 4 => "mixed", 5 => "range", _ => "many" })}", HostileTests.Json(job.ToJsonString()));
    }

    private static JsonNode HostileId(Random random, string field) =>
        field is "layers" or "lenses" or "requiredTags" ? new JsonArray(Pick(random, BodyIds)) : JsonValue.Create(Pick(random, BodyIds));

    private static string Priority(Random random) =>
        Pick(random, ["{\"priority\":5}", "{\"priority\":null}", "{\"priority\":\"5\"}", "{\"priority\":1e400}", "{\"priority\":99999999999}", "{}", "[]", "{", "null", "{\"priority\":[1]}"]);

    /// <summary>A model upload: valid, declaring a huge input, with a hostile manifest, or truncated and malformed multipart.</summary>
    private static (string Category, HttpContent Content) Upload(Random random, byte[] small, byte[] huge)
    {
        var boundary = "hostile-" + random.Next(1000, 9999);
        byte[] Body(byte[] model, string? manifest)
        {
            var bytes = new List<byte>();
            bytes.AddRange(Encoding.ASCII.GetBytes($"--{boundary}\r\nContent-Disposition: form-data; name=\"model\"; filename=\"fuzz.onnx\"\r\nContent-Type: application/octet-stream\r\n\r\n"));
            bytes.AddRange(model);
            if (manifest is not null)
            {
                bytes.AddRange(Encoding.UTF8.GetBytes($"\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"manifest\"; filename=\"manifest.json\"\r\n\r\n{manifest}"));
            }

            bytes.AddRange(Encoding.ASCII.GetBytes($"\r\n--{boundary}--\r\n"));
            return [.. bytes];
        }

        HttpContent Raw(byte[] bytes, string? type = null)
        {
            var content = new ByteArrayContent(bytes);
            content.Headers.TryAddWithoutValidation("Content-Type", type ?? $"multipart/form-data; boundary={boundary}");
            return content;
        }

        var whole = Body(small, null);
        return random.Next(9) switch
        {
            0 => ("upload-valid", Raw(whole)),
            1 => ("upload-huge-input", Raw(Body(huge, null))),
            2 => ("upload-manifest", Raw(Body(small, Pick(random, [
                "{\"id\":\"m\",\"model\":\"m.onnx\",\"input\":null}", "{\"id\":\"m\",\"model\":\"m.onnx\",\"layers\":null}", "{\"id\":\"m\\n\",\"model\":\"m.onnx\"}",
                "{\"id\":\"m\",\"model\":\"m.onnx\",\"input\":{\"size\":[100000,100000]}}", "{\"id\":\"m\",\"model\":\"m.onnx\",\"input\":{\"size\":[4096,4096]}}",
                "{\"id\":\"m\",\"model\":\"m.onnx\",\"input\":{\"mean\":null}}", "{\"id\":5}", "{", "null", "{\"id\":\"m\",\"model\":\"m.onnx\",\"layers\":{\"add\":[null]}}"])))),
            3 => ("multipart-truncated", Raw(whole[..random.Next(1, whole.Length - 2)])),
            4 => ("multipart-no-close", Raw(whole[..^(boundary.Length + 6)])),
            5 => ("multipart-malformed", Raw(Encoding.ASCII.GetBytes(Pick(random, [$"--{boundary}\r\n\r\n", $"--{boundary}\r\nContent-Disposition: form-data\r\n\r\nx\r\n--{boundary}--",
                $"--{boundary}\r\nContent-Disposition: form-data; name=\"xray\"\r\n\r\nx\r\n--{boundary}--", $"--{boundary}\r\n" + new string('H', 20_000) + "\r\n\r\n", "garbage"])))),
            6 => ("multipart-bad-type", Raw(whole, Pick(random, ["multipart/form-data", "multipart/form-data; boundary=", "application/json", "multipart/form-data; boundary=\"\n\"", "text/plain"]))),
            7 => ("upload-mutated", Raw(Mutate(random, whole))),
            _ => ("upload-no-model", Raw(Encoding.ASCII.GetBytes($"--{boundary}--\r\n"))),
        };
    }

    private static byte[] Mutate(Random random, byte[] bytes)
    {
        var mutated = (byte[])bytes.Clone();
        for (var flips = random.Next(1, 12); flips > 0; flips--)
        {
            mutated[random.Next(mutated.Length)] = (byte)random.Next(256);
        }

        return mutated;
    }

    private async Task<Dictionary<string, string>> ModelsAsync()
    {
        using var document = JsonDocument.Parse(await host.Http.GetStringAsync("/api/models"));
        return document.RootElement.EnumerateArray().ToDictionary(m => m.GetProperty("id").GetString()!, m => m.GetProperty("version").GetString()!);
    }

    private async Task<List<string>> JobIdsAsync()
    {
        var ids = new List<string>();
        for (var offset = 0; ; offset += 500)
        {
            using var document = JsonDocument.Parse(await host.Http.GetStringAsync($"/api/jobs?limit=500&offset={offset}"));
            ids.AddRange(document.RootElement.EnumerateArray().Select(j => j.GetProperty("id").GetString()!));
            if (document.RootElement.GetArrayLength() < 500)
            {
                return ids;
            }
        }
    }

    private static T Pick<T>(Random random, T[] items) => items[random.Next(items.Length)];

    private static string Short(string text, int length) => text.Length > length ? text[..length] + "…" : text.ReplaceLineEndings("⏎");
}
