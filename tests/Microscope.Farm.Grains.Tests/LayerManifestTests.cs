using System.Text.Json;

namespace Microscope.Farm.Grains.Tests;

/// <summary>The layer manifest is a stored format: its JSON names and order are pinned here.</summary>
public sealed class LayerManifestTests
{
    [Fact]
    public void The_manifest_lists_units_in_order_and_layer_lenses_apart_under_the_stored_names()
    {
        var at = DateTimeOffset.UnixEpoch;
        LensRecord Record(string lens, int unit) => new(lens, unit, "abc123def456", $"img-{lens}-{unit}", unit < 0 ? null : $"data-{unit}",
            new Dictionary<string, double> { ["objectiveAfter"] = 1.5 }, at, LensOptions.Default, "v1");
        var manifest = LayerManifest.Of("tiny", "v1", "conv1", [Record("featurevis", 10), Record("featurevis", 2), Record("neuron", 2), Record("deepdream", -1)], at);

        using var json = JsonDocument.Parse(JsonSerializer.SerializeToUtf8Bytes(manifest, JsonSerializerOptions.Web));
        var root = json.RootElement;
        Assert.Equal(["model", "version", "layer", "updatedAt", "units", "layerLenses"], root.EnumerateObject().Select(p => p.Name));
        Assert.Equal(["2", "10"], root.GetProperty("units").EnumerateObject().Select(p => p.Name));
        var entry = root.GetProperty("units").GetProperty("2")[1];
        Assert.Equal(["lens", "optionsHash", "image", "data", "quality", "renderedAt"], entry.EnumerateObject().Select(p => p.Name));
        Assert.Equal("neuron", entry.GetProperty("lens").GetString());
        Assert.Equal("data-2", entry.GetProperty("data").GetString());
        var layerLens = Assert.Single(root.GetProperty("layerLenses").EnumerateArray());
        Assert.Equal("img-deepdream--1", layerLens.GetProperty("image").GetString());
        Assert.Equal(JsonValueKind.Null, layerLens.GetProperty("data").ValueKind);
    }
}
