using System.Net.Http.Json;
using System.Text.Json;
using static Microsoft.Playwright.Assertions;

namespace Microscope.Farm.Browser.Tests;

/// <summary>Layers affine in the image (ppocr-det's first convolution): the note that says why their feature visualization is the neuron's, and the weights lens offered there only.</summary>
public sealed partial class WebUiTests
{
    [Fact]
    public async Task An_affine_layer_says_why_and_offers_the_weights_lens_and_other_layers_do_not()
    {
        var graph = await farm.Http.GetFromJsonAsync<JsonElement>($"/api/models/{FarmFixture.LargestModel}/graph");
        var nodes = graph.GetProperty("nodes").EnumerateArray().Skip(1).ToList();
        var affine = nodes.First(n => n.GetProperty("affineInImage").GetBoolean()).GetProperty("id").GetString()!;
        var other = nodes.First(n => !n.GetProperty("affineInImage").GetBoolean()).GetProperty("id").GetString()!;

        var page = await farm.NewPageAsync();
        await page.GotoAsync($"/models/{FarmFixture.LargestModel}/layers/{affine}/units/0");
        await Expect(page.Locator(".note.affine")).ToContainTextAsync("affine in the image");
        await Expect(page.Locator("#lens-weights")).ToContainTextAsync("pending");
        await Expect(page.Locator("#lens-switcher option[value=weights]")).ToHaveCountAsync(1);
        await CheckPageAsync(page, "unit-affine");

        await page.GotoAsync($"/models/{FarmFixture.LargestModel}/layers/{affine}?lens=weights");
        await Expect(page.Locator("#lens-switcher")).ToHaveValueAsync("weights");
        await Expect(page.Locator("ul.units.kernels a.pending").First).ToBeVisibleAsync();

        await page.GotoAsync($"/models/{FarmFixture.LargestModel}/layers/{other}/units/0");
        await Expect(page.Locator("#lens-featurevis")).ToHaveCountAsync(1);
        await Expect(page.Locator(".note.affine")).ToHaveCountAsync(0);
        await Expect(page.Locator("#lens-weights")).ToHaveCountAsync(0);
        await Expect(page.Locator("#lens-switcher option[value=weights]")).ToHaveCountAsync(0);
        await page.Context.CloseAsync();
    }
}
