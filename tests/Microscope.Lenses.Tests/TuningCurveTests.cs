using Microscope.Inference;
using Microscope.Lenses.Tuning;
using Microscope.Onnx;
using Microscope.Testing;

namespace Microscope.Lenses.Tests;

public sealed class TuningCurveTests
{
    private static readonly SessionFactory Sessions = new(new SessionSettings());

    /// <summary>A model whose one unit is an oriented line detector: +1 along a line at <paramref name="degrees"/> through the kernel's centre, −0.1 elsewhere.</summary>
    private static (VisionGraph Vision, Layer Layer) LineDetector(double degrees)
    {
        const int k = 15;
        var weights = new double[3 * k * k];
        var (dx, dy) = (Math.Cos(degrees * Math.PI / 180), -Math.Sin(degrees * Math.PI / 180));
        for (var c = 0; c < 3; c++)
        {
            for (var y = 0; y < k; y++)
            {
                for (var x = 0; x < k; x++)
                {
                    var (px, py) = (x - (k / 2), y - (k / 2));
                    var distance = Math.Abs((px * dy) - (py * dx));
                    weights[(c * k * k) + (y * k) + x] = distance < 1 ? 1 : -0.1;
                }
            }
        }

        var m = new TinyModel();
        var image = m.Input("x", -1, 3, -1, -1);
        m.Output(m.Op("Conv", [image, m.Constant([1, 3, k, k], weights)], ("kernel_shape", new long[] { k, k })));
        var manifest = new ModelManifest { Id = "lines", Model = "lines.onnx", Input = new InputSpec { Size = [33, 33] } };
        var vision = VisionGraph.Compose(m.Build(), manifest.Input, null, "lines");
        return (vision, LayerCatalogBuilder.Build(manifest, vision, Sessions).Layers.Single());
    }

    [Theory]
    [InlineData(45)]
    [InlineData(120)]
    public void An_oriented_line_detector_peaks_at_its_angle(double degrees)
    {
        var (vision, layer) = LineDetector(degrees);

        var curve = Assert.Single(TuningCurves.Measure(vision, layer, [0], StimulusFamily.Lines, 33, Sessions));

        var (_, peak) = curve.Peak(StimulusFamily.Lines.Points());
        Assert.InRange(peak[0], degrees - 10, degrees + 10);
        Assert.True(curve.Responses.Max() > curve.Responses.Min() + 5, "the curve should be tuned, not flat");
        Assert.Equal(15, curve.WindowSide);
    }

    [Fact]
    public void Two_axis_families_cover_every_combination_and_plot_as_heatmaps()
    {
        var (vision, layer) = LineDetector(0);

        var curve = Assert.Single(TuningCurves.Measure(vision, layer, [0], StimulusFamily.Gratings, 33, Sessions));

        Assert.Equal(StimulusFamily.Gratings.Axes[0].Values.Length * StimulusFamily.Gratings.Axes[1].Values.Length, curve.Responses.Length);
        using var plot = SkiaSharp.SKBitmap.Decode(Plots.Render(curve));
        Assert.True(plot.Height > plot.Width, "a heatmap of 12 orientations × 5 frequencies is taller than wide");
    }

    public static TheoryData<string> Families => new(StimulusFamily.Names);

    [Theory]
    [MemberData(nameof(Families))]
    public void Every_plot_writes_its_title_and_labels_and_is_the_same_png_twice(string name)
    {
        var family = StimulusFamily.Get(name);
        var responses = family.Points().Select((p, i) => Math.Sin(i * 0.3) * 4).ToArray();
        var curve = new TuningCurve("layer3.0.relu", 7, family.Name, family.Axes, responses, 0, 0, 0, 0, 33);

        Assert.True(PlotFont.Source is not null, $"no font for plot labels: install fonts-dejavu-core (./test.sh does) or set {PlotFont.EnvironmentVariable}");
        var png = Plots.Render(curve);
        Assert.Equal(png, Plots.Render(curve));
        using var plot = SkiaSharp.SKBitmap.Decode(png);
        Assert.True(Ink(plot, 0, Plots.TitleBand) > 150, "the title band has no text");
        Assert.True(Ink(plot, plot.Height - 16, plot.Height) > 100, "the peak caption at the bottom has no text");
    }

    [Fact]
    public void One_axis_plots_have_ticks_a_title_and_a_peak_caption()
    {
        var axis = new StimulusAxis("contrast", "%", [0, 25, 50, 75, 100]);
        var curve = new TuningCurve("conv1", 3, "contrast", [axis], [0.1, 0.4, 2.5, 1.2, 0.3], 0, 0, 0, 0, 33);

        using var plot = SkiaSharp.SKBitmap.Decode(Plots.Render(curve));

        Assert.True(Ink(plot, 0, Plots.TitleBand) > 150, "the title band has no text");
        Assert.True(Ink(plot, plot.Height - 16, plot.Height) > 100, "the peak caption has no text");
        Assert.Equal([0.5, 1, 1.5, 2, 2.5], Plots.Ticks(0.1, 2.5).Select(t => Math.Round(t, 9)));
        Assert.Equal([0, 20, 40, 60, 80, 100], Plots.Ticks(0, 100));
    }

    /// <summary>How many pixels of rows [from, to) are dark (text or lines), on the plots' white background.</summary>
    private static int Ink(SkiaSharp.SKBitmap plot, int from, int to)
    {
        var count = 0;
        for (var y = from; y < to; y++)
        {
            for (var x = 0; x < plot.Width; x++)
            {
                count += plot.GetPixel(x, y).Red < 128 ? 1 : 0;
            }
        }

        return count;
    }

    [Fact]
    public void Every_family_draws_inside_its_window_only()
    {
        foreach (var name in StimulusFamily.Names)
        {
            var family = StimulusFamily.Get(name);
            var image = family.Render(40, new SkiaSharp.SKRect(10, 10, 30, 30), family.Points()[^1]);
            Assert.Equal(128 / 255f, image[0], 3);                  // top-left pixel: grey background
            Assert.Contains(image, v => Math.Abs(v - (128 / 255f)) > 0.1);
        }
    }

    [Fact]
    public void An_unknown_family_is_named() =>
        Assert.Contains("'spirals'", Assert.Throws<ModelFormatException>(() => StimulusFamily.Get("spirals")).Message);
}
