using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microscope.Testing;

namespace Microscope.Farm.FaultTests;

/// <summary>
/// Writes against a farm process that requires API keys: model uploads (valid, malformed, oversized,
/// with ops that have no gradient rule; accepted ones catalogued by the process's render silo), unauthorized writes, and a fuzz of bodies and ids at every
/// endpoint: never a 500, and nothing stored by what was refused.
/// </summary>
public sealed class UploadTests : IAsyncLifetime
{
    private const string Key = "test-key-0123456789";
    private const long Limit = 256 * 1024;
    private readonly string folder = Path.Combine(Path.GetTempPath(), "microscope-upload-" + Guid.NewGuid().ToString("N")[..8]);
    private SiloProcess silo = null!;
    private HttpClient http = null!;

    private string Lenses => Path.Combine(folder, "farm-data", "lenses", "models");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(folder);
        var builtIn = Path.Combine(folder, "small.onnx");
        File.WriteAllBytes(builtIn, Onnx.OnnxModelFile.ToBytes(TinyModel.SmallCnn(size: 32)));
        var port = Azurite.FreePort();
        http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(60) };
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Key)));
        silo = SiloProcess.Start("upload", new Dictionary<string, string>
        {
            ["Farm__Role"] = "all",
            ["Farm__Http__Url"] = $"http://127.0.0.1:{port}",
            ["Farm__Cluster__SiloPort"] = Azurite.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Farm__Cluster__GatewayPort"] = Azurite.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Farm__Store__Path"] = Path.Combine(folder, "farm-data"),
            ["Farm__Organisms__0"] = builtIn,
            ["Farm__DefaultJob__Enabled"] = "false",
            ["Farm__Api__Keys__0"] = $"tester:{hash}",
            ["Farm__Api__MaxUploadBytes"] = Limit.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        await silo.WaitUntilAsync(async () => (await http.GetAsync("/api/models/small")).IsSuccessStatusCode, TimeSpan.FromMinutes(2), "registered model");
    }

    public async Task DisposeAsync()
    {
        await silo.StopAsync(TimeSpan.FromSeconds(20));
        silo.Dispose();
        http.Dispose();
        Directory.Delete(folder, recursive: true);
    }

    [Fact]
    public async Task Uploads_are_validated_registered_or_refused_with_nothing_stored()
    {
        var model = Onnx.OnnxModelFile.ToBytes(TinyModel.SmallCnn(size: 24));

        Assert.Equal(HttpStatusCode.Unauthorized, (await Upload(model, "first.onnx", key: null)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await Upload(model, "first.onnx", key: "wrong")).StatusCode);
        Assert.Equal(["small"], StoredModels());

        var malformed = await Upload(Encoding.UTF8.GetBytes("this is not an onnx model at all"), "bad.onnx");
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        Assert.Equal("application/problem+json", malformed.Content.Headers.ContentType!.MediaType);
        Assert.DoesNotContain(Path.GetTempPath(), await malformed.Content.ReadAsStringAsync());

        var big = new byte[Limit + 1000];
        Random.Shared.NextBytes(big);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await Upload(big, "huge.onnx")).StatusCode);
        Assert.Equal(["small"], StoredModels());

        var accepted = await Upload(model, "first.onnx");
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var info = await Intake.RegisteredAsync(http, accepted, Key);
        Assert.Equal("first", info.GetProperty("id").GetString());
        Assert.Equal(8, info.GetProperty("layers").GetArrayLength());
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/api/models/first")).StatusCode);
        Assert.Equal(["first", "small"], StoredModels());

        var other = Onnx.OnnxModelFile.ToBytes(TinyModel.SmallCnn(size: 16));
        Assert.Equal(HttpStatusCode.Conflict, (await Upload(other, "first.onnx")).StatusCode);
        Assert.Equal(info.GetProperty("version").GetString(), (await http.GetFromJsonAsync<JsonElement>("/api/models/first")).GetProperty("version").GetString());
    }

    [Fact]
    public async Task A_model_with_ops_that_have_no_gradient_rule_gets_its_forward_lenses_and_the_reason()
    {
        var m = new TinyModel();
        var x = m.Input("x", -1, 3, 16, 16);
        // Softsign keeps the map's axes, so the layers after it stay layers, but it has no gradient rule.
        var soft = m.Op("Softsign", m.Relu(m.Conv(x, 3, 4)));
        m.Output(m.Relu(m.Conv(soft, 4, 4)));
        var response = await Upload(m.ToBytes(), "soft.onnx");

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var info = await Intake.RegisteredAsync(http, response, Key);
        Assert.Equal(["dataset-examples", "tuning"], info.GetProperty("lenses").EnumerateArray().Select(l => l.GetString()));
        Assert.Contains(info.GetProperty("notes").EnumerateArray(), n => n.GetString()!.Contains("Softsign", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_fuzz_of_bodies_and_ids_never_gets_a_500_and_stores_nothing()
    {
        var random = new Random(7);
        var model = Onnx.OnnxModelFile.ToBytes(TinyModel.SmallCnn(size: 24));
        string[] templates =
        [
            "/api/models/{0}", "/api/models/{0}/layers", "/api/models/small/layers/{0}", "/api/models/small/layers/{0}/units/0",
            "/api/models/small/layers/Relu_20/units/{0}", "/api/models/small/layers/Relu_20/units/0/lenses/{0}", "/api/jobs/{0}",
        ];
        string[] pieces = ["..", "%2e%2e", "%2f", "/", "\\", "%00", "é", "💥", " ", "0", "-1", "007", "99999999999", "a", "layer", "Relu_20", "%", "?", "#", "'", "\""];
        var statuses = new List<(string, HttpStatusCode)>();
        for (var i = 0; i < 150; i++)
        {
            var id = string.Concat(Enumerable.Range(0, random.Next(1, 5)).Select(_ => pieces[random.Next(pieces.Length)]));
            var url = string.Format(System.Globalization.CultureInfo.InvariantCulture, templates[random.Next(templates.Length)], Uri.EscapeDataString(id));
            statuses.Add((url, (await http.GetAsync(url)).StatusCode));
        }

        string[] bodies = ["", "{", "[]", "null", "{\"model\":5}", "{\"model\":\"small\",\"lenses\":[\"xray\"]}", "{\"model\":\"small\",\"units\":[-1]}",
            "{\"model\":\"../x\"}", "{\"model\":\"small\",\"options\":{\"size\":1e9}}", "{\"model\":\"small\",\"unitsPerItem\":0}", "{\"model\":\"small\",\"layers\":[\"nope\"]}"];
        for (var i = 0; i < 60; i++)
        {
            var body = bodies[random.Next(bodies.Length)];
            if (random.Next(2) == 0 && body.Length > 2)
            {
                var chars = body.ToCharArray();
                chars[random.Next(chars.Length)] = (char)random.Next(32, 127);
                body = new string(chars);
            }

            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/jobs") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Key);
            statuses.Add(("POST /api/jobs " + body, (await http.SendAsync(request)).StatusCode));
        }

        var uploads = new List<(string Name, HttpResponseMessage Response)>();
        for (var i = 0; i < 60; i++)
        {
            var mutated = (byte[])model.Clone();
            for (var flips = random.Next(1, 20); flips > 0; flips--)
            {
                mutated[random.Next(mutated.Length)] = (byte)random.Next(256);
            }

            var bytes = random.Next(4) == 0 ? mutated[..random.Next(mutated.Length)] : mutated;
            var upload = await Upload(bytes, $"fuzz{i}.onnx");
            statuses.Add(("POST /api/models", upload.StatusCode));
            if (upload.StatusCode == HttpStatusCode.Accepted)
            {
                uploads.Add(($"fuzz{i}", upload));
            }
        }

        Assert.DoesNotContain(statuses, s => (int)s.Item2 >= 500);

        // What the request accepted, its render silo catalogs or refuses: exactly the ready ones are stored whole.
        var ready = 0;
        foreach (var (_, response) in uploads)
        {
            var status = await Intake.SettledAsync(http, response, Key);
            ready += status.GetProperty("state").GetString() == "Ready" ? 1 : 0;
        }

        Assert.Equal(ready, StoredModels().Count(m => m.StartsWith("fuzz", StringComparison.Ordinal)));
    }

    private async Task<HttpResponseMessage> Upload(byte[] model, string name, string? key = Key)
    {
        using var content = new MultipartFormDataContent { { new ByteArrayContent(model), "model", name } };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/models") { Content = content };
        if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return await http.SendAsync(request);
    }

    /// <summary>Models with a complete package (its manifest is written last) in the lens store.</summary>
    private List<string> StoredModels() =>
        Directory.Exists(Lenses)
            ? [.. Directory.GetDirectories(Lenses).Where(m => Directory.GetDirectories(m).Any(v => File.Exists(Path.Combine(v, "manifest.json")))).Select(m => Path.GetFileName(m)!).Order()]
            : [];
}
