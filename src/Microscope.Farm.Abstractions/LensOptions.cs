using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Microscope.Farm;

/// <summary>
/// How a lens is rendered. Every field has a default; <see cref="For"/> resets the fields a lens
/// ignores, so that <see cref="Hash"/> (part of every stored lens's name) changes only when the
/// picture would.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record LensOptions
{
    /// <summary>Optimization steps (per octave for DeepDream).</summary>
    [Id(0)] public int Steps { get; init; } = 512;

    /// <summary>Side of the rendered image in pixels.</summary>
    [Id(1)] public int Size { get; init; } = 128;

    [Id(2)] public int Seed { get; init; } = 1;

    /// <summary>Fourier parameterization (false: plain pixels).</summary>
    [Id(3)] public bool Fourier { get; init; } = true;

    /// <summary>Lucid's standard transformation robustness (false: none).</summary>
    [Id(4)] public bool Transforms { get; init; } = true;

    /// <summary>Images per unit for the diversity lens.</summary>
    [Id(5)] public int DiversityImages { get; init; } = 4;

    /// <summary>Top and bottom images kept per unit by dataset examples.</summary>
    [Id(6)] public int Top { get; init; } = 16;

    /// <summary>The dataset (a name configured on render silos) that dataset examples scan.</summary>
    [Id(7)] public string Dataset { get; init; } = "default";

    /// <summary>Stimulus family of the tuning lens: lines, edges, curves, gratings or hue.</summary>
    [Id(8)] public string Family { get; init; } = "lines";

    /// <summary>
    /// Feature visualization climbs Lucid's redirected ReLU gradient for its first steps, so that a
    /// unit the start image leaves dead still renders (docs/lenses.md). The other lenses never
    /// redirect: <see cref="For"/> sets it false for them.
    /// </summary>
    [Id(9)] public bool ReluRedirect { get; init; } = true;

    public static LensOptions Default { get; } = new();

    /// <summary>These options with every field the lens ignores reset to its default.</summary>
    public LensOptions For(string lens) => For(FarmLenses.Get(lens));

    /// <summary>These options with every field <paramref name="lens"/> does not read (<see cref="LensKind.Reads"/>) reset to its default.</summary>
    public LensOptions For(LensKind lens)
    {
        var d = Default;
        bool Reads(LensOptionFields field) => lens.Reads.HasFlag(field);
        return new LensOptions
        {
            Steps = Reads(LensOptionFields.Steps) ? Steps : d.Steps,
            Size = Reads(LensOptionFields.Size) ? Size : d.Size,
            Seed = Reads(LensOptionFields.Seed) ? Seed : d.Seed,
            Fourier = Reads(LensOptionFields.Fourier) ? Fourier : d.Fourier,
            Transforms = Reads(LensOptionFields.Transforms) ? Transforms : d.Transforms,
            DiversityImages = Reads(LensOptionFields.DiversityImages) ? DiversityImages : d.DiversityImages,
            Top = Reads(LensOptionFields.Top) ? Top : d.Top,
            Dataset = Reads(LensOptionFields.Dataset) ? Dataset : d.Dataset,
            Family = Reads(LensOptionFields.Family) ? Family : d.Family,

            // Not the default but off: a lens that does not read it climbs the true gradient, and its name
            // stays what it was before the redirect existed.
            ReluRedirect = Reads(LensOptionFields.ReluRedirect) && ReluRedirect,
        };
    }

    /// <summary>Each option's name as the API's query, the lens documents and the UI spell it, in field order.</summary>
    public static IReadOnlyList<(LensOptionFields Field, string Name)> Fields { get; } =
    [
        (LensOptionFields.Steps, "steps"), (LensOptionFields.Size, "size"), (LensOptionFields.Seed, "seed"),
        (LensOptionFields.Fourier, "fourier"), (LensOptionFields.Transforms, "transforms"), (LensOptionFields.DiversityImages, "diversityImages"),
        (LensOptionFields.Top, "top"), (LensOptionFields.Dataset, "dataset"), (LensOptionFields.Family, "family"),
        (LensOptionFields.ReluRedirect, "reluRedirect"),
    ];

    /// <summary>The names of the options in <paramref name="fields"/>, in field order.</summary>
    public static IReadOnlyList<string> FieldNames(LensOptionFields fields) => [.. Fields.Where(f => fields.HasFlag(f.Field)).Select(f => f.Name)];

    /// <summary>Checks ranges; the message says which value is out of range.</summary>
    public LensOptions Validate()
    {
        Require(Steps is >= 1 and <= 100_000, $"steps must be 1 to 100000, not {Steps}.");
        Require(Size is >= 16 and <= 2048, $"size must be 16 to 2048 pixels, not {Size}.");
        Require(DiversityImages is >= 2 and <= 16, $"diversityImages must be 2 to 16, not {DiversityImages}.");
        Require(Top is >= 1 and <= 1000, $"top must be 1 to 1000, not {Top}.");
        FarmIds.Check(Dataset, "dataset");
        Require(Family is "lines" or "edges" or "curves" or "gratings" or "hue", $"family must be lines, edges, curves, gratings or hue, not '{FarmIds.Shorten(Family ?? "")}'.");
        return this;
    }

    /// <summary>A stable 12-hex-digit digest of the canonical text of these options.</summary>
    public string Hash()
    {
        var digest = SHA256.HashData(Encoding.UTF8.GetBytes(Canonical()));
        return Convert.ToHexStringLower(digest)[..12];
    }

    /// <summary>
    /// Field order and spelling here are part of every stored name: never change them, only append.
    /// The ReLU redirect is appended only when on, so that everything rendered with the true gradient
    /// (every lens before it existed, and feature visualization with it off) keeps its name.
    /// </summary>
    public string Canonical() => string.Create(CultureInfo.InvariantCulture,
        $"steps={Steps};size={Size};seed={Seed};fourier={Fourier};transforms={Transforms};diversity={DiversityImages};top={Top};dataset={Dataset};family={Family}{(ReluRedirect ? ";reluRedirect=True" : "")}");

    private static void Require(bool ok, string message)
    {
        if (!ok)
        {
            throw new FarmInputException(message);
        }
    }
}
