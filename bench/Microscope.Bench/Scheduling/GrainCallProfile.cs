using System.Collections.Concurrent;
using System.Diagnostics;
using Orleans;

namespace Microscope.Bench.Scheduling;

/// <summary>
/// Counts grain calls by interface, method and the kind of caller, and times them twice: as the caller waits for them
/// (queueing at the target, transport, serialization and the work) and as the target runs them (the
/// work alone, its own awaited calls included). Installed as a grain call filter on every silo.
/// </summary>
internal sealed class GrainCallProfile : IIncomingGrainCallFilter, IOutgoingGrainCallFilter
{
    private readonly ConcurrentDictionary<string, Figures> calls = new();

    public void Reset() => calls.Clear();

    public Task Invoke(IOutgoingGrainCallContext context) => TimeAsync(context, waited: true);

    public Task Invoke(IIncomingGrainCallContext context) => TimeAsync(context, waited: false);

    /// <summary>Calls per item, mean wait and mean run in milliseconds, most frequent first.</summary>
    public IReadOnlyList<(string Call, double PerItem, double WaitMs, double RunMs)> PerItem(int items) =>
        [.. calls.OrderByDescending(c => c.Value.Count).ThenBy(c => c.Key, StringComparer.Ordinal)
            .Select(c => (c.Key, (double)c.Value.Count / items, c.Value.WaitMs, c.Value.RunMs))];

    private async Task TimeAsync(IGrainCallContext context, bool waited)
    {
        var start = Stopwatch.GetTimestamp();
        try
        {
            await context.Invoke();
        }
        finally
        {
            var figures = calls.GetOrAdd($"{context.InterfaceMethod?.DeclaringType?.Name ?? context.InterfaceName}.{context.MethodName} ← {Caller(context)}", _ => new Figures());
            figures.Add(waited, Stopwatch.GetTimestamp() - start);
        }
    }

    /// <summary>
    /// The calling grain's type; "runtime" for Orleans' own services; "worker" for calls from outside
    /// any grain (the render workers, and the benchmark's client asking for the job's status).
    /// </summary>
    private static string Caller(IGrainCallContext context) => context.SourceId?.Type.ToString() switch
    {
        null => "worker",
        var type when type.StartsWith("sys.svc", StringComparison.Ordinal) => "runtime",
        var type when type.StartsWith("sys.", StringComparison.Ordinal) => "worker",
        var type => type,
    };

    /// <summary>Counted by the target (every call reaches one); waits only where a silo made the call.</summary>
    private sealed class Figures
    {
        private long runs;
        private long runTicks;
        private long waits;
        private long waitTicks;

        public long Count => Interlocked.Read(ref runs);

        public double RunMs => Mean(runTicks, runs);

        public double WaitMs => Mean(waitTicks, waits);

        public void Add(bool waited, long ticks)
        {
            Interlocked.Increment(ref waited ? ref waits : ref runs);
            Interlocked.Add(ref waited ? ref waitTicks : ref runTicks, ticks);
        }

        private static double Mean(long ticks, long count) =>
            count == 0 ? double.NaN : ticks * 1000.0 / Stopwatch.Frequency / count;
    }
}
