using System.Globalization;

namespace Microscope.Onnx.Gradients;

/// <summary>The objective's parameters for one run (see <see cref="ObjectiveNames"/> for their meaning).</summary>
/// <param name="Weights">N × (layer shape): the linear term's weights; null when the graph has no linear term.</param>
/// <param name="L2Weights">N values; null when the graph has no L2 term.</param>
/// <param name="DiversityWeight">One value; used when the graph has a diversity term.</param>
/// <param name="LayerShape">The layer's shape for one image at this run's image size; null means the reference size's.</param>
public sealed record ObjectiveParameters(double[]? Weights, double[]? L2Weights = null, double DiversityWeight = 0, long[]? LayerShape = null)
{
    /// <summary>The inputs a graph built with <paramref name="terms"/> takes for these parameters: name, shape and values, in the graph's order.</summary>
    /// <param name="layerShape">The layer's shape for one image, where <see cref="LayerShape"/> is null.</param>
    public IReadOnlyList<(string Name, long[] Shape, double[] Values)> Inputs(ObjectiveTerms terms, int batch, long[] layerShape)
    {
        var inputs = new List<(string Name, long[] Shape, double[] Values)>();
        if (terms.HasFlag(ObjectiveTerms.Linear))
        {
            inputs.Add((ObjectiveNames.Weights, [batch, .. LayerShape ?? layerShape], Weights ?? throw new ArgumentException("the graph has a linear term: give its weights.")));
        }

        if (terms.HasFlag(ObjectiveTerms.L2))
        {
            inputs.Add((ObjectiveNames.L2Weight, [batch], L2Weights ?? throw new ArgumentException("the graph has an L2 term: give its weights.")));
        }

        if (terms.HasFlag(ObjectiveTerms.Diversity))
        {
            inputs.Add((ObjectiveNames.DiversityWeight, [], [DiversityWeight]));
        }

        return inputs;
    }
}

/// <summary>
/// An objective on one layer for one image of a batch: a value declared before any graph exists,
/// composable with + and − and scaling, with a readable description. Every objective maps onto the
/// three terms of a built graph (<see cref="ObjectiveTerms"/>), so one built graph serves every
/// unit of a layer and every mix of objectives. We maximize.
/// </summary>
public abstract record Objective
{
    public abstract ObjectiveTerms Terms { get; }

    public abstract string Description { get; }

    /// <summary>Mean of channel (or logit) <paramref name="unit"/> over all positions.</summary>
    public static Objective Channel(int unit) => new ChannelObjective(unit);

    /// <summary>
    /// Channel <paramref name="unit"/> at one position; by default the centre, (⌊H/2⌋, ⌊W/2⌋) as in
    /// Lucid, which for even sizes is the lower-right of the four central positions.
    /// </summary>
    public static Objective Neuron(int unit, int? x = null, int? y = null) => new NeuronObjective(unit, x, y);

    /// <summary>Dot product of the channel vector with <paramref name="direction"/>, at a position or averaged over all.</summary>
    public static Objective Direction(double[] direction, int? x = null, int? y = null) => new DirectionObjective(direction, x, y);

    /// <summary>DeepDream: the mean of the layer's squared activations.</summary>
    public static Objective DeepDream() => new L2Objective();

    /// <summary>Caricature: the dot product with the layer's activations on a given image (one image's worth, layer-shaped).</summary>
    public static Objective Caricature(double[] activations) => new CaricatureObjective(activations);

    /// <summary>Lucid's diversity: −weight · similarity of this image's Gram matrix to the batch's others.</summary>
    public static Objective Diversity(double weight) => new DiversityObjective(weight);

    public static Objective operator +(Objective a, Objective b) => new SumObjective(a, b);

    public static Objective operator -(Objective a) => new ScaledObjective(a, -1);

    public static Objective operator -(Objective a, Objective b) => new SumObjective(a, new ScaledObjective(b, -1));

    public static Objective operator *(double k, Objective a) => new ScaledObjective(a, k);

    /// <summary>The parameters of a batch in which image n maximizes <paramref name="perImage"/>[n].</summary>
    public static ObjectiveParameters Parameters(IReadOnlyList<Objective> perImage, long[] layerShape, ObjectiveTerms terms)
    {
        var size = (int)layerShape.Aggregate(1L, (a, b) => a * b);
        var weights = terms.HasFlag(ObjectiveTerms.Linear) ? new double[perImage.Count * size] : null;
        var l2 = terms.HasFlag(ObjectiveTerms.L2) ? new double[perImage.Count] : null;
        var diversity = 0.0;
        for (var n = 0; n < perImage.Count; n++)
        {
            var missing = perImage[n].Terms & ~terms;
            if (missing != 0)
            {
                throw new ArgumentException($"objective '{perImage[n].Description}' needs the {missing} term(s), which the graph was not built with.");
            }

            var accumulator = new Accumulator(weights is null ? default : weights.AsSpan(n * size, size), layerShape);
            perImage[n].Fill(ref accumulator, 1);
            if (l2 is not null)
            {
                l2[n] = accumulator.L2;
            }

            diversity += accumulator.Diversity / perImage.Count;
        }

        return new ObjectiveParameters(weights, l2, diversity, layerShape);
    }

    internal abstract void Fill(ref Accumulator into, double scale);

    /// <summary>Where objectives add their weights for one image.</summary>
    internal ref struct Accumulator(Span<double> weights, long[] shape)
    {
        public Span<double> Weights = weights;
        public readonly long[] Shape = shape;
        public double L2;
        public double Diversity;

        public readonly int Channels => (int)Shape[0];

        public readonly int Positions => Shape.Length == 3 ? (int)(Shape[1] * Shape[2]) : 1;

        public readonly int Height => Shape.Length == 3 ? (int)Shape[1] : 1;

        public readonly int Width => Shape.Length == 3 ? (int)Shape[2] : 1;

        public readonly void CheckUnit(int unit)
        {
            if (unit < 0 || unit >= Channels)
            {
                throw new UnknownLayerException($"unit {unit} is out of range: the layer has {Channels} units (0 to {Channels - 1}).");
            }
        }

        public readonly int Position(int? x, int? y)
        {
            var (px, py) = (x ?? Width / 2, y ?? Height / 2);
            if (px < 0 || px >= Width || py < 0 || py >= Height)
            {
                throw new UnknownLayerException(string.Create(CultureInfo.InvariantCulture, $"position ({px}, {py}) is outside the layer's {Width}×{Height} positions."));
            }

            return (py * Width) + px;
        }
    }

    private sealed record ChannelObjective(int Unit) : Objective
    {
        public override ObjectiveTerms Terms => ObjectiveTerms.Linear;

        public override string Description => $"channel {Unit}";

        internal override void Fill(ref Accumulator into, double scale)
        {
            into.CheckUnit(Unit);
            var share = scale / into.Positions;
            foreach (ref var w in into.Weights.Slice(Unit * into.Positions, into.Positions))
            {
                w += share;
            }
        }
    }

    private sealed record NeuronObjective(int Unit, int? X, int? Y) : Objective
    {
        public override ObjectiveTerms Terms => ObjectiveTerms.Linear;

        public override string Description => X is null ? $"neuron {Unit} (centre)" : $"neuron {Unit} at ({X}, {Y})";

        internal override void Fill(ref Accumulator into, double scale)
        {
            into.CheckUnit(Unit);
            into.Weights[(Unit * into.Positions) + into.Position(X, Y)] += scale;
        }
    }

    private sealed record DirectionObjective(double[] Vector, int? X, int? Y) : Objective
    {
        public override ObjectiveTerms Terms => ObjectiveTerms.Linear;

        public override string Description => X is null ? "direction (mean over positions)" : $"direction at ({X}, {Y})";

        internal override void Fill(ref Accumulator into, double scale)
        {
            if (Vector.Length != into.Channels)
            {
                throw new ArgumentException($"a direction needs {into.Channels} values (one per unit); got {Vector.Length}.");
            }

            for (var c = 0; c < into.Channels; c++)
            {
                if (X is null && Y is null)
                {
                    foreach (ref var w in into.Weights.Slice(c * into.Positions, into.Positions))
                    {
                        w += scale * Vector[c] / into.Positions;
                    }
                }
                else
                {
                    into.Weights[(c * into.Positions) + into.Position(X, Y)] += scale * Vector[c];
                }
            }
        }
    }

    private sealed record CaricatureObjective(double[] Activations) : Objective
    {
        public override ObjectiveTerms Terms => ObjectiveTerms.Linear;

        public override string Description => "caricature";

        internal override void Fill(ref Accumulator into, double scale)
        {
            if (Activations.Length != into.Weights.Length)
            {
                throw new ArgumentException($"caricature activations have {Activations.Length} values; the layer has {into.Weights.Length}.");
            }

            for (var i = 0; i < Activations.Length; i++)
            {
                into.Weights[i] += scale * Activations[i];
            }
        }
    }

    private sealed record L2Objective : Objective
    {
        public override ObjectiveTerms Terms => ObjectiveTerms.L2;

        public override string Description => "deepdream (mean squared activation)";

        internal override void Fill(ref Accumulator into, double scale) => into.L2 += scale;
    }

    private sealed record DiversityObjective(double Weight) : Objective
    {
        public override ObjectiveTerms Terms => ObjectiveTerms.Diversity;

        public override string Description => string.Create(CultureInfo.InvariantCulture, $"diversity × {Weight}");

        internal override void Fill(ref Accumulator into, double scale) => into.Diversity += scale * Weight;
    }

    private sealed record SumObjective(Objective A, Objective B) : Objective
    {
        public override ObjectiveTerms Terms => A.Terms | B.Terms;

        public override string Description => $"{A.Description} + {B.Description}";

        internal override void Fill(ref Accumulator into, double scale)
        {
            A.Fill(ref into, scale);
            B.Fill(ref into, scale);
        }
    }

    private sealed record ScaledObjective(Objective Inner, double Scale) : Objective
    {
        public override ObjectiveTerms Terms => Inner.Terms;

        public override string Description => Scale == -1 ? $"−({Inner.Description})" : string.Create(CultureInfo.InvariantCulture, $"{Scale} × ({Inner.Description})");

        internal override void Fill(ref Accumulator into, double scale) => Inner.Fill(ref into, scale * Scale);
    }
}
