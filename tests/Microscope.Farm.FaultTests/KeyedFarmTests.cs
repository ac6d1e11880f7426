using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microscope.Testing;

namespace Microscope.Farm.FaultTests;

/// <summary>
/// A farm with one API key, private reads, a write rate limit and a quota of one unfinished job for
/// that key: what an operator configures for a shared farm.
/// </summary>
public sealed class KeyedFarm : IAsyncLifetime
{
    public const string Key = "private-reads-key-51c2";
    public const int WritesPerMinute = 8;

    private SmallFarmProcess farm = null!;

    internal SiloProcess Silo => farm.Silo;

    public HttpClient Http => farm.Http;

    public async Task InitializeAsync()
    {
        farm = SmallFarmProcess.Start("keyed", new Dictionary<string, string>
        {
            ["Farm__DefaultJob__Enabled"] = "false",
            ["Farm__Api__PrivateReads"] = "true",
            ["Farm__Api__Keys__0"] = $"reader:{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Key)))}",
            ["Farm__Api__WritesPerMinute"] = WritesPerMinute.ToString(CultureInfo.InvariantCulture),
            ["Farm__Api__Quotas__Keys__reader__ConcurrentJobs"] = "1",
        });
        await Silo.WaitUntilAsync(async () => (await Http.SendAsync(Request(HttpMethod.Get, "/api/models/small"))).IsSuccessStatusCode, TimeSpan.FromMinutes(2), "registered model");

        // One rendered lens to read: asked for on demand, blocking until it is there (?wait), then its job finished (the quota counts unfinished jobs).
        using var rendered = await Http.SendAsync(Request(HttpMethod.Get, $"{Lens}?steps=4&size=32&render=true&wait={60}"));
        Assert.True(rendered.StatusCode == HttpStatusCode.OK, $"{(int)rendered.StatusCode}: {await rendered.Content.ReadAsStringAsync()}");
        Assert.Equal("image/png", rendered.Content.Headers.ContentType!.MediaType);
        await Silo.WaitUntilAsync(async () =>
        {
            using var jobs = await Http.SendAsync(Request(HttpMethod.Get, "/api/jobs"));
            return (await jobs.Content.ReadFromJsonAsync<JsonElement>()).EnumerateArray().All(j => j.GetProperty("state").GetString() == "Completed");
        }, TimeSpan.FromMinutes(1), "the on-demand job to finish");
    }

    /// <summary>The lens the fixture renders on demand.</summary>
    public const string Lens = "/api/models/small/layers/Relu_20/units/0/lenses/featurevis";

    public async Task DisposeAsync() => await farm.DisposeAsync();

    public static HttpRequestMessage Request(HttpMethod method, string path, string key = Key, object? body = null)
    {
        var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return request;
    }
}

public sealed class KeyedFarmTests(KeyedFarm farm) : IClassFixture<KeyedFarm>
{
    private HttpClient http => farm.Http;

    [Fact]
    public async Task Reads_need_a_key_in_the_header_or_the_ui_cookie_and_the_cookie_never_authorizes_a_write()
    {
        foreach (var path in new[] { "/api/models", "/api/models/small/layers", "/api/models/small/layers/Relu_20/units/0", "/api/models/small/layers/Relu_20/units/0/lenses/featurevis", "/api/jobs", "/api/workers" })
        {
            var anonymous = await http.GetAsync(path);
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
            Assert.Equal("application/problem+json", anonymous.Content.Headers.ContentType!.MediaType);
            Assert.Equal(HttpStatusCode.Forbidden, (await http.SendAsync(KeyedFarm.Request(HttpMethod.Get, path, "not-the-key"))).StatusCode);
            Assert.True((await http.SendAsync(KeyedFarm.Request(HttpMethod.Get, path))).IsSuccessStatusCode, path);

            using var cookie = new HttpRequestMessage(HttpMethod.Get, path);
            cookie.Headers.Add("Cookie", $"microscope-key={Uri.EscapeDataString(KeyedFarm.Key)}");
            Assert.True((await http.SendAsync(cookie)).IsSuccessStatusCode, path + " with the UI's cookie");
        }

        // Private reads are cached by the browser only, never by a shared proxy.
        using var lens = await http.SendAsync(KeyedFarm.Request(HttpMethod.Get, KeyedFarm.Lens));
        Assert.Equal(HttpStatusCode.OK, lens.StatusCode);
        var caching = lens.Headers.CacheControl!;
        Assert.True(caching.Private && !caching.Public, caching.ToString());
        Assert.Equal(TimeSpan.FromDays(365), caching.MaxAge);
        Assert.Contains(caching.Extensions, e => e.Name == "immutable");

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/healthz")).StatusCode);

        using var write = new HttpRequestMessage(HttpMethod.Post, "/api/jobs") { Content = JsonContent.Create(new { model = "small" }) };
        write.Headers.Add("Cookie", $"microscope-key={Uri.EscapeDataString(KeyedFarm.Key)}");
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(write)).StatusCode);
    }

    [Fact]
    public async Task A_key_past_its_quota_or_its_write_rate_gets_429_with_the_reason()
    {
        // A job long enough to stay unfinished while the next is refused: every unit of a layer at many steps.
        var first = await http.SendAsync(KeyedFarm.Request(HttpMethod.Post, "/api/jobs", body: new { model = "small", layers = new[] { "Relu_20" }, options = new { steps = 2000, size = 32 }, unitsPerItem = 1 }));
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        var job = (await first.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;

        var second = await http.SendAsync(KeyedFarm.Request(HttpMethod.Post, "/api/jobs", body: new { model = "small", layers = new[] { "Relu_4" } }));
        Assert.Equal((HttpStatusCode)429, second.StatusCode);
        Assert.Contains("1 unfinished jobs, the most its quota allows (1)", await second.Content.ReadAsStringAsync());

        // Writes are limited per key whatever they ask: pausing the job again and again runs into the rate limit.
        HttpResponseMessage? limited = null;
        for (var i = 0; i < KeyedFarm.WritesPerMinute + 2 && limited is null; i++)
        {
            var pause = await http.SendAsync(KeyedFarm.Request(HttpMethod.Post, $"/api/jobs/{Uri.EscapeDataString(job)}/pause"));
            limited = pause.StatusCode == (HttpStatusCode)429 ? pause : null;
        }

        Assert.NotNull(limited);
        Assert.NotNull(limited.Headers.RetryAfter);
        Assert.Contains("Farm:Api:WritesPerMinute", await limited.Content.ReadAsStringAsync());

        // The limit is the key's, however the header spells it: scheme case, extra spaces, a tab.
        foreach (var spelling in (string[])["bearer ", "BEARER ", "Bearer  ", "Bearer\t", " Bearer "])
        {
            using var pause = new HttpRequestMessage(HttpMethod.Post, $"/api/jobs/{Uri.EscapeDataString(job)}/pause");
            pause.Headers.TryAddWithoutValidation("Authorization", spelling + KeyedFarm.Key);
            using var response = await http.SendAsync(pause);
            Assert.True(response.StatusCode == (HttpStatusCode)429, $"'{spelling}<key>' got {(int)response.StatusCode}, not 429");
        }

        Assert.True((await http.SendAsync(KeyedFarm.Request(HttpMethod.Get, "/api/jobs"))).IsSuccessStatusCode, "reads are not rate limited");
    }
}
