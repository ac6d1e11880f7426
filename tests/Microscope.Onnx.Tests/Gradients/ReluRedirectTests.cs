using Microscope.Inference;
using Microscope.Onnx.Gradients;
using Microscope.Testing;
using DataType = Microscope.Onnx.Proto.TensorProto.Types.DataType;

namespace Microscope.Onnx.Tests.Gradients;

/// <summary>
/// Lucid's redirected gradient through Relu and Clip, switched by the graph's relu_redirect input:
/// while on, a batch entry the true gradient leaves with nothing gets the incoming gradient where it
/// would push the input back into range; while off, the true gradient.
/// </summary>
public sealed class ReluRedirectTests
{
    private const int Size = 4;
    private const int Pixels = 3 * Size * Size;

    // Relu((x − 0.5)·2 − 5): every input in [−6, −4], dead. Image 0 climbs (weights +1: it would push the
    // input up), image 1 descends (weights −1: further down, blocked).
    [Fact]
    public void A_dead_relu_passes_the_gradient_that_pushes_it_up_while_the_switch_is_on()
    {
        var graph = Built(m => x => m.Op("Relu", m.Op("Sub", [m.Spread(x, 2), m.Scalar(5)])));

        var on = Run(graph, [1, -1], redirect: true);
        var off = Run(graph, [1, -1], redirect: false);

        Assert.All(on[..Pixels], g => Assert.Equal(2, g, 9));
        Assert.All(on[Pixels..], g => Assert.Equal(0, g));
        Assert.All(off, g => Assert.Equal(0, g));
    }

    // Clip(x + 8, 0, 6) is stuck above its range: a gradient that pulls it down passes, one that pushes it up does not.
    [Fact]
    public void A_clip_above_its_range_passes_the_gradient_that_pulls_it_back()
    {
        var graph = Built(m => x => m.Op("Clip", [m.Op("Add", [x, m.Scalar(8)]), m.Scalar(0), m.Scalar(6)]));

        var on = Run(graph, [-1, 1], redirect: true);
        var off = Run(graph, [-1, 1], redirect: false);

        Assert.All(on[..Pixels], g => Assert.Equal(-1, g, 9));
        Assert.All(on[Pixels..], g => Assert.Equal(0, g));
        Assert.All(off, g => Assert.Equal(0, g));
    }

    // Relu((x − 0.5)·2): alive on about half the pixels. The true gradient passes something for every
    // image, so the switch changes nothing, and both equal the gradient of a graph built without it.
    [Fact]
    public void An_image_the_true_gradient_reaches_keeps_the_true_gradient()
    {
        Func<TinyModel, Func<string, string>> body = m => x => m.Op("Relu", m.Spread(x, 2));
        var graph = Built(body);
        var plain = Built(body, redirect: false);

        var on = Run(graph, [1, -1], redirect: true);
        var off = Run(graph, [1, -1], redirect: false);
        var reference = Run(plain, [1, -1], redirect: false);

        Assert.Contains(reference, g => g != 0);
        Assert.Contains(reference, g => g == 0);
        Assert.Equal(reference, on);
        Assert.Equal(reference, off);
    }

    [Fact]
    public void Only_a_graph_built_with_the_switch_has_its_input()
    {
        Func<TinyModel, Func<string, string>> body = m => x => m.Op("Relu", m.Spread(x, 2));

        Assert.Contains(Built(body).Model.Graph.Input, i => i.Name == ObjectiveNames.ReluRedirect);
        var plain = Built(body, redirect: false);
        Assert.DoesNotContain(plain.Model.Graph.Input, i => i.Name == ObjectiveNames.ReluRedirect);
        using var session = new GradientSession(plain, new SessionFactory(new SessionSettings { IntraOpThreads = 1 }));
        Assert.Throws<ArgumentException>(() => session.Run(new double[Pixels], 1, Size, Size, new ObjectiveParameters(new double[Pixels]), reluRedirect: true));
    }

    private static GradientModel Built(Func<TinyModel, Func<string, string>> body, bool redirect = true)
    {
        var m = new TinyModel(17, 1, DataType.Double);
        var image = m.Input(VisionGraph.ImageInput, -1, 3, -1, -1);
        var layer = body(m)(image);
        m.Output(layer);
        return GradientBuilder.Build(m.Build(), Size, Size, new GradientRequest(layer, ReluRedirect: redirect), ShapeProbes.OnCpu(Size, Size), "redirect");
    }

    /// <summary>The image gradient for two random images, image n's layer weighted by <paramref name="weights"/>[n] everywhere.</summary>
    private static double[] Run(GradientModel graph, double[] weights, bool redirect)
    {
        using var session = new GradientSession(graph, new SessionFactory(new SessionSettings { IntraOpThreads = 1 }));
        var random = new Random(3);
        var pixels = Enumerable.Range(0, 2 * Pixels).Select(_ => random.NextDouble()).ToArray();
        var parameters = new ObjectiveParameters([.. weights.SelectMany(w => Enumerable.Repeat(w, Pixels))]);
        return session.Run(pixels, 2, Size, Size, parameters, redirect).Gradient;
    }
}
