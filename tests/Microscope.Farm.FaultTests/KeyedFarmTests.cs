using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Microscope.Testing;

namespace Microscope.Farm.FaultTests;

/// <summary>A farm configured with Farm:Api:PrivateReads: every API read needs a key, the UI's shell stays public.</summary>
public sealed class PrivateReadsTests
{
    private const string Key = "private-reads-key-51c2";

    [Fact]
    public async Task Reads_need_a_key_in_the_header_or_the_ui_cookie_and_the_cookie_never_authorizes_a_write()
    {
        var folder = Path.Combine(Path.GetTempPath(), "microscope-private-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(folder);
        var model = Path.Combine(folder, "small.onnx");
        File.WriteAllBytes(model, Onnx.OnnxModelFile.ToBytes(TinyModel.SmallCnn(size: 32)));
        var port = Azurite.FreePort();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
        using var silo = SiloProcess.Start("private", new Dictionary<string, string>
        {
            ["Farm__Http__Url"] = $"http://127.0.0.1:{port}",
            ["Farm__Cluster__SiloPort"] = Azurite.FreePort().ToString(CultureInfo.InvariantCulture),
            ["Farm__Cluster__GatewayPort"] = Azurite.FreePort().ToString(CultureInfo.InvariantCulture),
            ["Farm__Store__Path"] = Path.Combine(folder, "farm-data"),
            ["Farm__Organisms__0"] = model,
            ["Farm__DefaultJob__Enabled"] = "false",
            ["Farm__Api__PrivateReads"] = "true",
            ["Farm__Api__Keys__0"] = $"reader:{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Key)))}",
        });
        try
        {
            await silo.WaitUntilAsync(async () => (await http.SendAsync(Get("/api/models/small", Key))).IsSuccessStatusCode, TimeSpan.FromMinutes(2), "registered model");

            foreach (var path in new[] { "/api/models", "/api/models/small/layers", "/api/models/small/layers/Relu_20/units/0", "/api/models/small/layers/Relu_20/units/0/lenses/featurevis", "/api/jobs" })
            {
                var anonymous = await http.GetAsync(path);
                Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
                Assert.Equal("application/problem+json", anonymous.Content.Headers.ContentType!.MediaType);
                Assert.Equal(HttpStatusCode.Forbidden, (await http.SendAsync(Get(path, "not-the-key"))).StatusCode);
                Assert.True((await http.SendAsync(Get(path, Key))).IsSuccessStatusCode, path);

                using var cookie = new HttpRequestMessage(HttpMethod.Get, path);
                cookie.Headers.Add("Cookie", $"microscope-key={Uri.EscapeDataString(Key)}");
                Assert.True((await http.SendAsync(cookie)).IsSuccessStatusCode, path + " with the UI's cookie");
            }

            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/healthz")).StatusCode);

            using var write = new HttpRequestMessage(HttpMethod.Post, "/api/jobs") { Content = new StringContent("""{"model":"small"}""", Encoding.UTF8, "application/json") };
            write.Headers.Add("Cookie", $"microscope-key={Uri.EscapeDataString(Key)}");
            Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(write)).StatusCode);
            using var jobs = await http.SendAsync(Get("/api/jobs", Key));
            Assert.Equal("[]", await jobs.Content.ReadAsStringAsync());
        }
        finally
        {
            await silo.StopAsync(TimeSpan.FromSeconds(20));
            Directory.Delete(folder, recursive: true);
        }
    }

    private static HttpRequestMessage Get(string path, string key)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return request;
    }
}
