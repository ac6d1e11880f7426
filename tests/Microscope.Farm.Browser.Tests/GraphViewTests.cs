using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Microscope.Farm.Browser.Tests;

/// <summary>The layer graph: its API and the model page's graph view (layout, thumbnails, find, zoom), and its render time on the largest held model.</summary>
public sealed partial class WebUiTests
{
    [Fact]
    public async Task The_graph_api_lists_the_image_and_every_layer_and_joins_them()
    {
        var graph = await farm.Http.GetFromJsonAsync<JsonElement>("/api/models/small/graph");
        var nodes = graph.GetProperty("nodes").EnumerateArray().Select(n => n.GetProperty("id").GetString()!).ToList();
        var edges = graph.GetProperty("edges").EnumerateArray().Select(e => (From: e.GetProperty("from").GetString()!, To: e.GetProperty("to").GetString()!)).ToList();

        Assert.Equal(["input", .. farm.Layers], nodes);
        var input = graph.GetProperty("nodes")[0];
        Assert.Equal("Input", input.GetProperty("op").GetString());
        Assert.Equal(3, input.GetProperty("units").GetInt32());
        Assert.Equal((farm.Layers[0], "input"), (edges.Single(e => e.From == "input").To, "input"));
        Assert.All(farm.Layers, l => Assert.Contains(edges, e => e.To == l));
        Assert.All(edges, e => Assert.True(nodes.IndexOf(e.From) < nodes.IndexOf(e.To), $"{e.From} -> {e.To}"));
        Assert.Equal(graph.GetProperty("version").GetString(), (await farm.Http.GetFromJsonAsync<JsonElement>("/api/models/small")).GetProperty("version").GetString());

        Assert.Equal(HttpStatusCode.NotFound, (await farm.Http.GetAsync("/api/models/nothing/graph")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await farm.Http.GetAsync("/api/models/bad%20id/graph")).StatusCode);
    }

    [Fact]
    public async Task The_graph_view_links_layers_shows_thumbnails_finds_a_layer_and_zooms()
    {
        var page = await farm.NewPageAsync();
        await page.GotoAsync("/models/small");
        await Expect(page.Locator(".views a[aria-current=page]")).ToHaveTextAsync("Graph");
        await Expect(page.Locator(".graph .node")).ToHaveCountAsync(farm.Layers.Count + 1);
        await Expect(page.Locator(".graph .node.input")).ToContainTextAsync("Input");
        Assert.True(await page.Locator(".graph .edges path[marker-end]").CountAsync() >= farm.Layers.Count);

        // The default job rendered the feature visualizations of this layer: its strip shows four of them.
        var node = page.Locator($".graph a.node[data-node='{farm.Layer}']");
        await Expect(node).ToContainTextAsync(farm.Layer);
        var strip = node.Locator(".strip img");
        await Expect(strip).ToHaveCountAsync(4);
        await strip.First.EvaluateAsync("img => img.complete || new Promise(done => { img.onload = done; img.onerror = done; })");
        Assert.True(await strip.First.EvaluateAsync<int>("img => img.naturalWidth") > 0);

        var canvas = page.Locator(".graph-canvas");
        var before = await canvas.EvaluateAsync<string>("c => c.style.transform");
        await page.GetByRole(AriaRole.Button, new() { Name = "Zoom in" }).ClickAsync();
        Assert.NotEqual(before, await canvas.EvaluateAsync<string>("c => c.style.transform"));

        await page.GetByLabel("Find a layer").FillAsync(farm.Layer.ToLowerInvariant());
        await page.GetByRole(AriaRole.Button, new() { Name = "Find", Exact = true }).ClickAsync();
        await Expect(node).ToHaveClassAsync(new Regex(@"\bfound\b"));
        await Expect(node).ToBeFocusedAsync();
        await Expect(page.Locator(".graph-status")).ToHaveTextAsync($"Found {farm.Layer}.");
        await page.GetByLabel("Find a layer").FillAsync("no-such-layer");
        await page.GetByRole(AriaRole.Button, new() { Name = "Find", Exact = true }).ClickAsync();
        await Expect(page.Locator(".graph-status")).ToContainTextAsync("No layer matches");
        await CheckPageAsync(page, "model-graph");

        await page.GetByRole(AriaRole.Link, new() { Name = "Table", Exact = true }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex(@"/models/small\?view=table$"));
        await Expect(page.Locator("tbody tr")).ToHaveCountAsync(farm.Layers.Count);
        await page.GetByRole(AriaRole.Link, new() { Name = "Graph", Exact = true }).ClickAsync();
        await node.ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex($"/models/small/layers/{Regex.Escape(farm.Layer)}$"));
        await page.Context.CloseAsync();
    }

    /// <summary>The issue's figure: the largest held model's graph renders in under 2 s on this machine. Measured and printed, not asserted.</summary>
    [Fact]
    public async Task The_largest_held_models_graph_renders_and_its_time_is_printed()
    {
        var models = await farm.Http.GetFromJsonAsync<JsonElement>("/api/models");
        var largest = models.EnumerateArray().MaxBy(m => m.GetProperty("layers").GetInt32());
        Assert.Equal(FarmFixture.LargestModel, largest.GetProperty("id").GetString());
        var layers = largest.GetProperty("layers").GetInt32();

        var page = await farm.NewPageAsync();
        await page.GotoAsync("/");
        var clock = Stopwatch.StartNew();
        await page.GotoAsync($"/models/{FarmFixture.LargestModel}");
        await Expect(page.Locator(".graph .node")).ToHaveCountAsync(layers + 1, new() { Timeout = 30_000 });
        await Expect(page.Locator(".graph-viewport[data-layout-ms]")).ToHaveCountAsync(1);
        clock.Stop();
        var layout = await page.Locator(".graph-viewport").GetAttributeAsync("data-layout-ms");
        output.WriteLine($"graph of {FarmFixture.LargestModel} ({layers} layers): shown {clock.ElapsedMilliseconds} ms after navigation; layout and DOM {layout} ms");
        var last = (await farm.Http.GetFromJsonAsync<JsonElement>($"/api/models/{FarmFixture.LargestModel}/layers"))[layers - 1].GetProperty("id").GetString()!;
        await page.GetByLabel("Find a layer").FillAsync(last);
        await page.GetByRole(AriaRole.Button, new() { Name = "Find", Exact = true }).ClickAsync();
        await Expect(page.Locator($".graph a.node.found[data-node='{last}']")).ToBeFocusedAsync();
        await CheckPageAsync(page, "model-graph-largest");
        await page.Context.CloseAsync();
    }
}
