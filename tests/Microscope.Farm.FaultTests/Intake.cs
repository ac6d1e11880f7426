using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace Microscope.Farm.FaultTests;

/// <summary>Follows an accepted upload (202 and the model's status URL) until a render silo has catalogued or refused it.</summary>
internal static class Intake
{
    /// <summary>The upload's status once it is no longer pending.</summary>
    public static async Task<JsonElement> SettledAsync(HttpClient http, HttpResponseMessage accepted, string? key = null)
    {
        var body = await accepted.Content.ReadAsStringAsync();
        Assert.True(accepted.StatusCode is HttpStatusCode.Accepted or HttpStatusCode.OK, $"{(int)accepted.StatusCode}: {body}");
        var status = JsonDocument.Parse(body).RootElement.Clone();
        var url = $"/api/models/{status.GetProperty("model").GetString()}/status";
        if (accepted.StatusCode == HttpStatusCode.Accepted)
        {
            Assert.Equal(url, accepted.Headers.Location?.OriginalString);
        }

        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (status.GetProperty("state").GetString() == "Pending")
        {
            Assert.True(DateTime.UtcNow < deadline, $"the intake of {url} is still pending after 3 minutes");
            await Task.Delay(250);
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            if (key is not null)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            }

            using var response = await http.SendAsync(request);
            Assert.True(response.IsSuccessStatusCode, $"{url}: {(int)response.StatusCode}");
            status = (await response.Content.ReadFromJsonAsync<JsonElement>()).Clone();
        }

        return status;
    }

    /// <summary>The registered model, once the upload's intake is ready (failing with the reason when it was refused).</summary>
    public static async Task<JsonElement> RegisteredAsync(HttpClient http, HttpResponseMessage accepted, string? key = null)
    {
        var status = await SettledAsync(http, accepted, key);
        Assert.True(status.GetProperty("state").GetString() == "Ready", status.ToString());
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/models/{status.GetProperty("model").GetString()}");
        if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).Clone();
    }
}
