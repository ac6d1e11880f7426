using System.Diagnostics;

namespace Microscope.Bench;

/// <summary>Median wall time of repeated runs after warm-up: robust to the odd slow run on a shared machine.</summary>
internal static class Timing
{
    public static double MedianMilliseconds(Action run, int warmup, int repeats)
    {
        for (var i = 0; i < warmup; i++)
        {
            run();
        }

        var times = new double[repeats];
        for (var i = 0; i < repeats; i++)
        {
            var watch = Stopwatch.StartNew();
            run();
            times[i] = watch.Elapsed.TotalMilliseconds;
        }

        Array.Sort(times);
        return repeats % 2 == 1 ? times[repeats / 2] : (times[(repeats / 2) - 1] + times[repeats / 2]) / 2;
    }
}
