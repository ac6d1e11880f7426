using Microscope.Onnx.Gradients;

namespace Microscope.Onnx.Tests.Gradients;

public sealed class ObjectiveTests
{
    private static readonly long[] Shape = [4, 2, 3];

    private static double[] Weights(Objective objective) => Objective.Parameters([objective], Shape, ObjectiveTerms.All).Weights!;

    [Fact]
    public void Channel_is_the_mean_over_positions()
    {
        var w = Weights(Objective.Channel(2));
        Assert.Equal(Enumerable.Repeat(1.0 / 6, 6), w[12..18]);
        Assert.Equal(1.0, w.Sum(), 10);
    }

    [Fact]
    public void Neuron_defaults_to_the_centre_floor_of_half_the_size()
    {
        var w = Weights(Objective.Neuron(1));
        var index = Array.IndexOf(w, 1.0);
        Assert.Equal((1 * 6) + (1 * 3) + 1, index); // y = 2 / 2 = 1, x = 3 / 2 = 1
        Assert.Equal(1.0, w.Sum());
    }

    [Fact]
    public void Negative_and_sums_combine_weights()
    {
        var w = Weights(Objective.Channel(0) - Objective.Neuron(0, x: 0, y: 0) + (2 * Objective.Channel(3)));
        Assert.Equal((1.0 / 6) - 1, w[0], 10);
        Assert.Equal(2.0 / 6, w[18], 10);
    }

    [Fact]
    public void DeepDream_and_diversity_set_their_own_terms()
    {
        var p = Objective.Parameters([Objective.DeepDream() + Objective.Diversity(100), -Objective.DeepDream() + Objective.Diversity(100)], Shape, ObjectiveTerms.All);
        Assert.Equal([1.0, -1.0], p.L2Weights!);
        Assert.Equal(100, p.DiversityWeight, 10);
        Assert.All(p.Weights!, w => Assert.Equal(0, w));
    }

    [Fact]
    public void Units_and_positions_out_of_range_are_errors()
    {
        Assert.Throws<UnknownLayerException>(() => Weights(Objective.Channel(4)));
        Assert.Throws<UnknownLayerException>(() => Weights(Objective.Neuron(0, x: 3, y: 0)));
    }

    [Fact]
    public void An_objective_needing_a_term_the_graph_lacks_is_refused()
    {
        var error = Assert.Throws<ArgumentException>(() => Objective.Parameters([Objective.DeepDream()], Shape, ObjectiveTerms.Linear));
        Assert.Contains("L2", error.Message);
    }

    [Fact]
    public void Descriptions_are_readable() =>
        Assert.Equal("channel 1 + −(neuron 2 (centre))", (Objective.Channel(1) - Objective.Neuron(2)).Description);
}
