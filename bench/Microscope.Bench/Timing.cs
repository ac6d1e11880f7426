using System.Diagnostics;

namespace Microscope.Bench;

/// <summary>
/// Wall time of two things measured side by side: runs alternate (a, b, a, b, …) after warm-up, so
/// that a slow spell of the machine hits both alike, and each gets the median of its runs.
/// </summary>
internal static class Timing
{
    public static (double A, double B) MedianMilliseconds(Action a, Action b, int warmup, int repeats)
    {
        for (var i = 0; i < warmup; i++)
        {
            a();
            b();
        }

        var timesA = new double[repeats];
        var timesB = new double[repeats];
        for (var i = 0; i < repeats; i++)
        {
            timesA[i] = Time(a);
            timesB[i] = Time(b);
        }

        return (Median(timesA), Median(timesB));
    }

    private static double Time(Action run)
    {
        var watch = Stopwatch.StartNew();
        run();
        return watch.Elapsed.TotalMilliseconds;
    }

    private static double Median(double[] times)
    {
        Array.Sort(times);
        var n = times.Length;
        return n % 2 == 1 ? times[n / 2] : (times[(n / 2) - 1] + times[n / 2]) / 2;
    }
}
