using Microscope.Lenses.DatasetExamples;

namespace Microscope.Lenses.Tests;

/// <summary>The merge's image cache: one decode per image for every unit, bounded, safe in parallel.</summary>
public sealed class ExampleImagesTests
{
    [Fact]
    public void Mosaics_of_many_units_decode_each_image_once_and_equal_mosaics_drawn_alone()
    {
        var loads = new System.Collections.Concurrent.ConcurrentBag<string>();
        float[] Load(string id)
        {
            loads.Add(id);
            var random = new Random(id.GetHashCode(StringComparison.Ordinal));
            return [.. Enumerable.Range(0, 3 * 16 * 16).Select(_ => (float)random.NextDouble())];
        }

        var images = new ExampleImages(Load, 16);
        var units = Enumerable.Range(0, 40).Select(u => (IReadOnlyList<Example>)[.. Enumerable.Range(0, 3).Select(i => new Example($"img{(u + i) % 6}", u - i, u % 4, i))]).ToList();

        var mosaics = Mosaic.RenderAll(images, units, ReceptiveField.Pixel);

        Assert.Equal(6, images.Decodes);
        Assert.Equal(6, loads.Distinct().Count());
        Assert.Equal(6, loads.Count);
        for (var u = 0; u < units.Count; u += 13)
        {
            Assert.Equal(Mosaic.Render(new ExampleImages(Load, 16), units[u], ReceptiveField.Pixel), mosaics[u]);
        }
    }

    [Fact]
    public void The_least_recently_used_image_leaves_first_past_the_bound()
    {
        var images = new ExampleImages(_ => new float[3 * 8 * 8], 8, maxBytes: 2 * 3 * 8 * 8 * sizeof(float));
        Assert.Equal(2, images.Capacity);

        images.Get("a");
        images.Get("b");
        images.Get("a");
        images.Get("c");
        images.Get("a");
        Assert.Equal(3, images.Decodes);
        images.Get("b");
        Assert.Equal(4, images.Decodes);
    }
}
