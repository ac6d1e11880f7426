namespace Microscope.Lenses.DatasetExamples;

/// <summary>One image's response for a unit: its spatial maximum and where it is.</summary>
public sealed record Example(string Image, double Activation, int X, int Y);

/// <summary>The serializable state of <see cref="UnitExamples"/>.</summary>
public sealed record UnitExamplesState(int K, List<Example> Top, List<Example> Bottom, long Count, double Mean, double SquaredDeviations, double Min, double Max, long[] Histogram);

/// <summary>
/// The top-k and bottom-k images of one unit by spatial maximum, and running statistics of that
/// maximum. Merging is exact, associative and order-independent: ties are broken by image id
/// (ordinal), so shards of a dataset merged in any order equal one pass over it.
/// </summary>
public sealed class UnitExamples(int k)
{
    private static readonly Comparison<Example> HighestFirst = (a, b) => b.Activation.CompareTo(a.Activation) is var c && c != 0 ? c : string.CompareOrdinal(a.Image, b.Image);
    private static readonly Comparison<Example> LowestFirst = (a, b) => a.Activation.CompareTo(b.Activation) is var c && c != 0 ? c : string.CompareOrdinal(a.Image, b.Image);

    /// <summary>Bins of the histogram: symmetric-log values in [−16, 16] (|v| up to 8.9 million), 0.125 wide.</summary>
    public const int Bins = 256;
    private const double Reach = 16;

    private readonly long[] histogram = new long[Bins];
    private readonly List<Example> top = [];
    private readonly List<Example> bottom = [];

    public int K { get; } = k;

    public IReadOnlyList<Example> Top => top;

    public IReadOnlyList<Example> Bottom => bottom;

    public long Count { get; private set; }

    public double Mean { get; private set; }

    /// <summary>Sum of squared differences from the mean (Welford), so that statistics merge exactly.</summary>
    public double SquaredDeviations { get; private set; }

    public double Min { get; private set; } = double.PositiveInfinity;

    public double Max { get; private set; } = double.NegativeInfinity;

    public double StandardDeviation => Count > 1 ? Math.Sqrt(SquaredDeviations / (Count - 1)) : 0;

    /// <summary>
    /// The q-quantile of the unit's spatial maximum, from a fixed log-scale histogram (so that shards
    /// merge exactly): within about 7% of the exact value, clamped to the observed min and max.
    /// </summary>
    public double Quantile(double q)
    {
        if (Count == 0)
        {
            return double.NaN;
        }

        var rank = q * (Count - 1);
        long seen = 0;
        for (var b = 0; b < Bins; b++)
        {
            if (histogram[b] > 0 && seen + histogram[b] > rank)
            {
                var within = (rank - seen + 0.5) / histogram[b];
                var t = -Reach + ((b + within) * 2 * Reach / Bins);
                return Math.Clamp(Math.Sign(t) * (Math.Exp(Math.Abs(t)) - 1), Min, Max);
            }

            seen += histogram[b];
        }

        return Max;
    }

    private static int Bin(double value)
    {
        var t = Math.Sign(value) * Math.Log(1 + Math.Abs(value));
        return Math.Clamp((int)Math.Floor((t + Reach) / (2 * Reach) * Bins), 0, Bins - 1);
    }

    public void Add(Example example)
    {
        Insert(top, example, HighestFirst);
        Insert(bottom, example, LowestFirst);
        Count++;
        var delta = example.Activation - Mean;
        Mean += delta / Count;
        SquaredDeviations += delta * (example.Activation - Mean);
        Min = Math.Min(Min, example.Activation);
        Max = Math.Max(Max, example.Activation);
        histogram[Bin(example.Activation)]++;
    }

    /// <summary>Adds another shard's result into this one.</summary>
    public void Merge(UnitExamples other)
    {
        if (other.K != K)
        {
            throw new ArgumentException($"cannot merge top-{other.K} into top-{K}.");
        }

        foreach (var example in other.top)
        {
            Insert(top, example, HighestFirst);
        }

        foreach (var example in other.bottom)
        {
            Insert(bottom, example, LowestFirst);
        }

        if (other.Count == 0)
        {
            return;
        }

        var count = Count + other.Count;
        var delta = other.Mean - Mean;
        SquaredDeviations += other.SquaredDeviations + (delta * delta * Count * other.Count / count);
        Mean += delta * other.Count / count;
        Count = count;
        Min = Math.Min(Min, other.Min);
        Max = Math.Max(Max, other.Max);
        for (var b = 0; b < Bins; b++)
        {
            histogram[b] += other.histogram[b];
        }
    }

    /// <summary>Everything a shard must keep so that a later merge is exact, as plain data (for JSON).</summary>
    public UnitExamplesState ToState() => new(K, [.. top], [.. bottom], Count, Mean, SquaredDeviations, Count == 0 ? 0 : Min, Count == 0 ? 0 : Max, [.. histogram]);

    public static UnitExamples FromState(UnitExamplesState state)
    {
        if (state.Histogram.Length != Bins || state.K < 1 || state.Top.Count > state.K || state.Bottom.Count > state.K)
        {
            throw new ArgumentException($"not the state of a top-{state.K} unit: {state.Histogram.Length} histogram bins (expected {Bins}), {state.Top.Count} top and {state.Bottom.Count} bottom examples.");
        }

        var examples = new UnitExamples(state.K);
        examples.top.AddRange(state.Top);
        examples.bottom.AddRange(state.Bottom);
        examples.Count = state.Count;
        examples.Mean = state.Mean;
        examples.SquaredDeviations = state.SquaredDeviations;
        examples.Min = state.Count == 0 ? double.PositiveInfinity : state.Min;
        examples.Max = state.Count == 0 ? double.NegativeInfinity : state.Max;
        state.Histogram.CopyTo(examples.histogram, 0);
        return examples;
    }

    private void Insert(List<Example> list, Example example, Comparison<Example> order)
    {
        // Most images are not among a unit's extremes: reject them at the first comparison.
        if (list.Count == K && order(example, list[^1]) >= 0)
        {
            return;
        }

        if (list.Exists(e => e.Image == example.Image))
        {
            return;
        }

        var index = list.FindIndex(e => order(example, e) < 0);
        if (index < 0)
        {
            if (list.Count < K)
            {
                list.Add(example);
            }

            return;
        }

        list.Insert(index, example);
        if (list.Count > K)
        {
            list.RemoveAt(list.Count - 1);
        }
    }
}
