namespace Microscope.Farm.Grains;

/// <summary>
/// A layer's manifest in the lens store (<see cref="Storage.LensPaths.LayerIndex"/>): every stored
/// lens of the layer for one model version, so that readers without the cluster (a static site, a
/// backup) find them. Written by the layer grain a couple of seconds after records arrive, as JSON
/// in camelCase: these names are a stored format, so only add to them.
/// </summary>
public sealed record LayerManifest(
    string Model,
    string Version,
    string Layer,
    DateTimeOffset UpdatedAt,
    IReadOnlyDictionary<string, IReadOnlyList<LayerManifest.Entry>> Units,
    IReadOnlyList<LayerManifest.Entry> LayerLenses)
{
    /// <summary>One stored lens: its options hash, the paths of its image and data, and its quality figures.</summary>
    public sealed record Entry(string Lens, string OptionsHash, string Image, string? Data, IReadOnlyDictionary<string, double> Quality, DateTimeOffset RenderedAt)
    {
        public static Entry Of(LensRecord l) => new(l.Lens, l.OptionsHash, l.ImagePath, l.DataPath, l.Quality, l.RenderedAt);
    }

    /// <summary>The manifest of <paramref name="version"/>'s records: units in number order, each unit's lenses as recorded.</summary>
    public static LayerManifest Of(string model, string version, string layer, IEnumerable<LensRecord> records, DateTimeOffset now)
    {
        var list = records.ToList();
        return new LayerManifest(model, version, layer, now,
            list.Where(l => l.Unit >= 0).GroupBy(l => l.Unit).OrderBy(g => g.Key)
                .ToDictionary(g => g.Key.ToString(System.Globalization.CultureInfo.InvariantCulture), g => (IReadOnlyList<Entry>)[.. g.Select(Entry.Of)]),
            [.. list.Where(l => l.Unit < 0).Select(Entry.Of)]);
    }
}
