using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Deque.AxeCore.Playwright;
using Microscope.Testing;
using Microsoft.Playwright;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace Microscope.Farm.Browser.Tests;

/// <summary>
/// The web UI in headless Chromium against the real farm: a reader browses from the home page to a
/// unit, every view keeps its own URL through reload, back and forward, images load, pending lenses
/// say so, and axe finds no serious accessibility violation on any page.
/// </summary>
[Trait("Category", "Browser")]
public sealed partial class WebUiTests(FarmFixture farm, ITestOutputHelper output) : IClassFixture<FarmFixture>
{
    [Fact]
    public async Task A_reader_browses_from_the_home_page_to_a_unit_and_its_feature_visualization_loads()
    {
        var page = await farm.NewPageAsync();
        await page.GotoAsync("/");
        var card = page.Locator(".cards .card").Filter(new() { Has = page.GetByRole(AriaRole.Heading, new() { Name = "small", Exact = true }) });
        await Expect(card).ToContainTextAsync("Layers");
        await Expect(card.Locator("dd").Last).ToHaveTextAsync(new Regex(@"^\d+ of \d+ \(\d+(\.\d)?%\)$"));
        await CheckPageAsync(page, "home");

        await card.Locator("h2 a").ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("/models/small$"));
        await Expect(page.Locator("h1")).ToBeFocusedAsync();
        var nodes = page.Locator(".graph a.node");
        await Expect(nodes).ToHaveCountAsync(farm.Layers.Count);
        await Expect(nodes.First).ToHaveAttributeAsync("data-node", farm.Layers[0]);
        await CheckPageAsync(page, "model");

        await page.GetByRole(AriaRole.Link, new() { Name = $"{farm.Layer} Relu" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex($"/models/small/layers/{Regex.Escape(farm.Layer)}$"));
        var thumbnails = page.Locator("ul.units img");
        await Expect(thumbnails.First).ToBeVisibleAsync();
        Assert.Equal("lazy", await thumbnails.First.GetAttributeAsync("loading"));
        await WhenLoadedAsync(thumbnails.Last);
        await CheckPageAsync(page, "layer");

        await page.GetByRole(AriaRole.Link, new() { Name = "Unit 1", Exact = true }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex($"/models/small/layers/{Regex.Escape(farm.Layer)}/units/1$"));
        await Expect(page.Locator("h1")).ToContainTextAsync("Unit 1");
        var featurevis = page.Locator("#lens-featurevis img");
        Assert.Equal("Feature visualization of unit 1", await featurevis.GetAttributeAsync("alt"));
        Assert.True(await WhenLoadedAsync(featurevis) > 0);
        await WhenLoadedAsync(page.Locator("#lens-negative img"));
        await WhenLoadedAsync(page.Locator("#lens-tuning img"));
        await WhenLoadedAsync(page.Locator("#lens-deepdream img"));
        await Expect(page.Locator("#lens-featurevis .quality dt").First).ToBeVisibleAsync();
        await Expect(page.Locator("#lens-neuron")).ToContainTextAsync("pending");
        await Expect(page.Locator("#api-url")).ToHaveValueAsync($"{farm.BaseAddress}api/models/small/layers/{farm.Layer}/units/1");
        await CheckPageAsync(page, "unit");

        await page.Locator("a[rel=next]").ClickAsync();
        await Expect(page.Locator("h1")).ToContainTextAsync("Unit 2");
        await page.Locator("a[rel=prev]").ClickAsync();
        await Expect(page.Locator("h1")).ToContainTextAsync("Unit 1");
        await page.Locator("a[rel=prev]").ClickAsync();
        await Expect(page.Locator("h1")).ToContainTextAsync("Unit 0");
        await Expect(page.Locator("a[rel=prev]")).ToHaveCountAsync(0);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task The_first_unit_has_no_previous_link_and_the_last_no_next()
    {
        var layer = await farm.Http.GetFromJsonAsync<System.Text.Json.JsonElement>($"/api/models/small/layers/{farm.Layer}");
        var last = layer.GetProperty("layer").GetProperty("units").GetInt32() - 1;
        var page = await farm.NewPageAsync();
        await page.GotoAsync($"/models/small/layers/{farm.Layer}/units/0");
        var steps = page.Locator("nav.steps");
        await Expect(steps).ToContainTextAsync($"1 of {last + 1}");
        await Expect(steps).Not.ToContainTextAsync("Unit -1");
        await Expect(page.Locator("a[rel=prev]")).ToHaveCountAsync(0);
        await Expect(page.Locator("a[rel=next]")).ToHaveTextAsync("Unit 1 →");

        await page.GotoAsync($"/models/small/layers/{farm.Layer}/units/{last}");
        await Expect(steps).ToContainTextAsync($"{last + 1} of {last + 1}");
        await Expect(steps).Not.ToContainTextAsync($"Unit {last + 1}");
        await Expect(page.Locator("a[rel=next]")).ToHaveCountAsync(0);
        await Expect(page.Locator("a[rel=prev]")).ToHaveTextAsync($"← Unit {last - 1}");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task The_tuning_card_shows_a_plot_with_text_and_says_its_peak()
    {
        var page = await farm.NewPageAsync();
        await page.GotoAsync($"/models/small/layers/{farm.Layer}/units/1");
        var plot = page.Locator("#lens-tuning img");
        Assert.True(await WhenLoadedAsync(plot) > 0);
        Assert.Matches(@"^Tuning curve of unit 1 to \w+ stimuli, peak -?[\d.e+-]+ at \w+ -?[\d.]+", await plot.GetAttributeAsync("alt"));

        // The plot as the browser decoded it: dark pixels in its title band (the band holds nothing but the title text).
        var ink = await plot.EvaluateAsync<int>("""
            (img) => {
              const canvas = document.createElement('canvas');
              [canvas.width, canvas.height] = [img.naturalWidth, 24];
              const g = canvas.getContext('2d');
              g.drawImage(img, 0, 0);
              const { data } = g.getImageData(0, 0, canvas.width, canvas.height);
              let dark = 0;
              for (let i = 0; i < data.length; i += 4) dark += data[i] < 128 ? 1 : 0;
              return dark;
            }
            """);
        Assert.True(ink > 150, $"the tuning plot's title band has {ink} dark pixels: no title text");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task The_permalink_opened_in_a_fresh_browser_shows_the_same_unit_and_lens()
    {
        var page = await farm.NewPageAsync();
        await page.GotoAsync($"/models/small/layers/{farm.Layer}/units/2");
        await page.Locator("#lens-switcher").SelectOptionAsync("negative");
        await Expect(page).ToHaveURLAsync(new Regex(@"/units/2\?lens=negative$"));
        var permalink = $"{farm.BaseAddress}models/small/layers/{farm.Layer}/units/2?lens=negative";
        await Expect(page.Locator("#permalink")).ToHaveValueAsync(permalink);
        await page.Context.CloseAsync();

        var fresh = await farm.NewPageAsync();
        await fresh.GotoAsync(permalink);
        await Expect(fresh.Locator("h1")).ToContainTextAsync("Unit 2");
        await Expect(fresh.Locator("#lens-negative")).ToHaveAttributeAsync("aria-current", "true");
        Assert.True(await WhenLoadedAsync(fresh.Locator("#lens-negative img")) > 0);
        await Expect(fresh.Locator("#lens-switcher")).ToHaveValueAsync("negative");
        await Expect(fresh.Locator("a[rel=next]")).ToHaveAttributeAsync("href", $"/models/small/layers/{farm.Layer}/units/3?lens=negative");
        await fresh.Context.CloseAsync();
    }

    [Fact]
    public async Task Reload_back_and_forward_show_the_view_their_url_names()
    {
        var page = await farm.NewPageAsync();
        await page.GotoAsync("/");
        await page.GetByRole(AriaRole.Link, new() { Name = "small", Exact = true }).ClickAsync();
        await Expect(page.Locator("h1")).ToHaveTextAsync("small");
        await page.GetByRole(AriaRole.Link, new() { Name = $"{farm.Layer} Relu" }).ClickAsync();
        await Expect(page.Locator("h1")).ToHaveTextAsync($"Layer {farm.Layer}");
        await page.Locator("#lens-switcher").SelectOptionAsync("negative");
        await Expect(page).ToHaveURLAsync(new Regex(@"\?lens=negative$"));
        await Expect(page.Locator("ul.units img").First).ToHaveAttributeAsync("src", new Regex("/lenses/negative$"));

        await page.GoBackAsync();
        await Expect(page.Locator("ul.units img").First).ToHaveAttributeAsync("src", new Regex("/lenses/featurevis$"));
        await page.GoBackAsync();
        await Expect(page.Locator("h1")).ToHaveTextAsync("small");
        await page.GoBackAsync();
        await Expect(page.Locator("h1")).ToHaveTextAsync("Model organisms");
        await page.GoForwardAsync();
        await Expect(page.Locator("h1")).ToHaveTextAsync("small");
        await page.GoForwardAsync();
        await Expect(page.Locator("h1")).ToHaveTextAsync($"Layer {farm.Layer}");
        await page.ReloadAsync();
        await Expect(page.Locator("h1")).ToHaveTextAsync($"Layer {farm.Layer}");
        await Expect(page).ToHaveTitleAsync($"{farm.Layer} · small · Microscope");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Pending_units_and_lenses_are_shown_as_pending_and_layer_lenses_as_one_image()
    {
        var page = await farm.NewPageAsync();
        await page.GotoAsync($"/models/small/layers/{farm.Layer}?lens=neuron");
        var pending = page.Locator("ul.units a.pending");
        await Expect(pending.First).ToHaveAttributeAsync("aria-label", "Unit 0, pending");
        await Expect(page.Locator("ul.units img")).ToHaveCountAsync(0);
        await Expect(page.Locator("main")).ToContainTextAsync("0 of");

        await page.Locator("#lens-switcher").SelectOptionAsync("deepdream");
        Assert.True(await WhenLoadedAsync(page.Locator("figure.layer-lens img")) > 0);
        await CheckPageAsync(page, "layer-deepdream");

        await page.GotoAsync("/models/nothing");
        await Expect(page.Locator("main .error")).ToContainTextAsync("there is no model 'nothing'");
        await page.GotoAsync("/models/small/layers/nope/units/0");
        await Expect(page.Locator("main .error")).ToContainTextAsync("no layer 'nope'");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task The_jobs_page_shows_progress_counts_and_the_upload_form()
    {
        var page = await farm.NewPageAsync();
        await page.GotoAsync("/jobs");

        // The default job: the oldest render job of small (newer ones, an on-demand render or an upload's intake, are listed above it).
        var job = page.Locator(".job").Filter(new() { Has = page.Locator("h2", new() { HasTextRegex = new Regex(@"^small-\d{6}-") }) }).Last;
        await Expect(job.Locator(".state")).ToHaveTextAsync("Completed");
        var bar = job.Locator("progress");
        Assert.Equal(await bar.GetAttributeAsync("max"), await bar.GetAttributeAsync("value"));
        await Expect(job).ToContainTextAsync("100%");
        await Expect(page.GetByLabel("Model (.onnx)")).ToBeVisibleAsync();
        await CheckPageAsync(page, "jobs");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task The_upload_form_registers_a_model_that_then_has_its_own_card()
    {
        var page = await farm.NewPageAsync();
        await page.GotoAsync("/jobs");
        await page.GetByLabel("Model (.onnx)").SetInputFilesAsync(new FilePayload { Name = "tiny.onnx", MimeType = "application/octet-stream", Buffer = farm.ModelBytes });
        await page.GetByLabel("Id (optional)").FillAsync("uploaded-tiny");
        await page.GetByLabel("Render its feature visualizations now").UncheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Upload" }).ClickAsync();
        await Expect(page.Locator(".upload .message")).ToContainTextAsync("Registered uploaded-tiny (8 layers)");

        await page.GetByRole(AriaRole.Link, new() { Name = "Open uploaded-tiny" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("/models/uploaded-tiny$"));
        await Expect(page.Locator(".graph a.node")).ToHaveCountAsync(farm.Layers.Count);
        await page.GotoAsync("/");
        var card = page.Locator(".card").Filter(new() { Has = page.Locator("a[href='/models/uploaded-tiny']") });
        await Expect(card).ToContainTextAsync("uploaded by local");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task An_upload_the_catalog_refuses_shows_its_failed_status_and_reason()
    {
        // A well-formed model declaring a 4096×4096 input: accepted by the request, refused by the render silo's catalog probe limit.
        var page = await farm.NewPageAsync();
        await page.GotoAsync("/jobs");
        await page.GetByLabel("Model (.onnx)").SetInputFilesAsync(new FilePayload { Name = "huge.onnx", MimeType = "application/octet-stream", Buffer = Onnx.OnnxModelFile.ToBytes(TinyModel.SmallCnn(size: 4096)) });
        await page.GetByLabel("Id (optional)").FillAsync("huge-input");
        await page.GetByRole(AriaRole.Button, new() { Name = "Upload" }).ClickAsync();
        await Expect(page.Locator(".upload .message")).ToContainTextAsync("Not accepted:");
        await Expect(page.Locator(".upload .message")).ToContainTextAsync("Farm:Catalog:MaxProbePixels");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task On_a_phone_the_unit_page_fits_the_screen()
    {
        var page = await farm.NewPageAsync(390, 844);
        await page.GotoAsync($"/models/small/layers/{farm.Layer}/units/1");
        await WhenLoadedAsync(page.Locator("#lens-featurevis img"));
        var wider = await page.EvaluateAsync<string[]>("""
            [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
              .map(e => `${e.tagName.toLowerCase()}.${e.className} ${Math.round(e.getBoundingClientRect().right)}px`)
            """);
        Assert.True(wider.Length == 0, "the unit page is wider than a phone (390 px): " + string.Join(", ", wider));
        await CheckPageAsync(page, "unit-phone");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Every_view_is_served_the_page_shell_and_assets_revalidate_with_their_etag()
    {
        foreach (var path in (string[])["/", "/models", "/models/small", $"/models/small/layers/{farm.Layer}/units/3", "/jobs"])
        {
            using var shell = await farm.Http.GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, shell.StatusCode);
            Assert.Equal("text/html", shell.Content.Headers.ContentType!.MediaType);
            Assert.Contains("/ui/app.js", await shell.Content.ReadAsStringAsync());
        }

        using var script = await farm.Http.GetAsync("/ui/app.js");
        Assert.Equal("text/javascript", script.Content.Headers.ContentType!.MediaType);
        using var again = new HttpRequestMessage(HttpMethod.Get, "/ui/app.js");
        again.Headers.IfNoneMatch.Add(script.Headers.ETag!);
        Assert.Equal(HttpStatusCode.NotModified, (await farm.Http.SendAsync(again)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await farm.Http.GetAsync("/ui/nothing.js")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await farm.Http.GetAsync("/api/models/nothing")).StatusCode);
    }

    /// <summary>Waits until the image has loaded and answers its natural width (0 would be a broken image).</summary>
    private static async Task<int> WhenLoadedAsync(ILocator image)
    {
        await image.ScrollIntoViewIfNeededAsync();
        await Expect(image).ToBeVisibleAsync();
        await image.EvaluateAsync("img => img.complete || new Promise(done => { img.onload = done; img.onerror = done; })");
        var width = await image.EvaluateAsync<int>("img => img.naturalWidth");
        Assert.True(width > 0, $"the image {await image.GetAttributeAsync("src")} did not load");
        return width;
    }

    /// <summary>A full-page screenshot as a test artifact, and axe: no serious or critical violation.</summary>
    private async Task CheckPageAsync(IPage page, string name)
    {
        var file = Path.Combine(farm.Screenshots, $"ui-{name}.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = file, FullPage = true });
        output.WriteLine($"screenshot: {file}");

        var axe = await page.RunAxe();
        var serious = axe.Violations.Where(v => v.Impact is "serious" or "critical").ToList();
        Assert.True(serious.Count == 0, $"axe on {page.Url}:\n" + string.Join("\n", serious.Select(v =>
            $"{v.Impact} {v.Id}: {v.Help} at {string.Join(", ", v.Nodes.Select(n => n.Html))}")));
    }
}
