using System.Globalization;
using Microscope.Bench.Scheduling;
using Spectre.Console;

namespace Microscope.Bench;

/// <summary>
/// bench/run scheduling: how close the farm's scheduling comes to keeping every render slot busy.
/// Each render takes a fixed time and no CPU (a simulated device), so one machine can host many
/// silos and every millisecond a slot is not rendering is the farm's own overhead: lease, record the
/// lenses in the layer and unit grains, complete. Lenses per second for 1, 2, 4 and 8 silos against
/// the ideal (slots × 1000 / render ms), and the overhead per item.
/// </summary>
internal static class SchedulingBenchmark
{
    private const double TargetEfficiency = 0.90;
    private const double TargetOverheadMs = 5;

    public static int Run(string[] args)
    {
        var seconds = Option(args, "--seconds", 6);
        var renderMs = Option(args, "--render-ms", 50);
        var silos = Silos(args);
        var settings = new SchedulingSettings(
            Slots: (int)Option(args, "--slots", 2),
            RenderTime: TimeSpan.FromMilliseconds(renderMs),
            PollInterval: TimeSpan.FromMilliseconds(10),
            MaxPollInterval: TimeSpan.FromMilliseconds(50),
            LayerUnits: (int)Option(args, "--layer-units", 512),
            Records: !args.Contains("--without-records"),
            JsonState: args.Contains("--json-state"));
        if (Console.IsOutputRedirected)
        {
            // The call table is wide; a file or pipe has no width to keep to.
            AnsiConsole.Profile.Width = Math.Max(AnsiConsole.Profile.Width, 200);
        }

        AnsiConsole.MarkupLine($"[bold]Scheduling efficiency[/]: simulated device ({Ms(renderMs)} ms a render, no CPU), {settings.Slots} slot(s) a silo, one lens per item, " +
            $"layers of {settings.LayerUnits} units, a job of about {Ms(seconds)} s at the ideal rate after a warm-up job; all silos in this process on {Environment.ProcessorCount} cores, " +
            $"memory grain storage ({(settings.JsonState ? "Orleans' default JSON" : "binary, as the host writes file and blob state")}), poll {settings.PollInterval.TotalMilliseconds} ms (idle up to {settings.MaxPollInterval.TotalMilliseconds} ms)");
        if (!settings.Records)
        {
            AnsiConsole.MarkupLine("[yellow]Ablation: renders report no lenses, so the layer and unit grains are never called. Not the farm's figure.[/]");
        }

        var results = new List<SchedulingResult>();
        foreach (var count in silos)
        {
            var load = LoadAverage();
            var run = new SchedulingRun(count, settings);
            var result = run.MeasureAsync(seconds, stateWrites: count == silos[^1]).GetAwaiter().GetResult();
            results.Add(result);
            AnsiConsole.MarkupLine($"  {count} silo(s): {result.Items} items in {result.Seconds:F2} s; machine load average {load} before, {LoadAverage()} after");
        }

        var table = new Table().AddColumns("silos", "slots", "ideal/s", "achieved/s", "efficiency", "overhead/item (ms)",
            "gap mean (ms)", "gap p50 (ms)", "gap p99 (ms)", "render (ms)", "cpu busy", "cpu ms/item");
        foreach (var r in results)
        {
            table.AddRow(Text(r.Silos), Text(r.Silos * r.Slots), Ms(r.IdealPerSecond), Ms(r.AchievedPerSecond), Percent(r.Efficiency),
                Ms(r.OverheadMs(renderMs)), Ms(r.GapMean), Ms(r.GapP50), Ms(r.GapP99), Ms(r.RenderMean), Percent(r.CpuBusy), Ms(r.CpuMsPerItem));
        }

        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine("overhead/item = slots × elapsed / items − render ms; gap = a slot's idle time from one render's end to its next start; " +
            "render = the simulated render as timed (the timer's lateness included); cpu busy = process CPU time / (wall time × cores); " +
            "cpu ms/item = the whole process's CPU time (every silo, the client) / items.");
        Verdict(results, renderMs);
        AnsiConsole.Write(CallTable(results));
        AnsiConsole.Write(StateTable(results[^1].StateWrites));
        return 0;
    }

    private static void Verdict(List<SchedulingResult> results, double renderMs)
    {
        var largest = results.MaxBy(r => r.Silos)!;
        var worstOverhead = results.Max(r => r.OverheadMs(renderMs));
        var efficiencyMet = largest.Efficiency >= TargetEfficiency;
        var overheadMet = worstOverhead < TargetOverheadMs;
        AnsiConsole.MarkupLine($"Target ≥ {Percent(TargetEfficiency)} of ideal at {largest.Silos} silos: {Met(efficiencyMet)} ({Percent(largest.Efficiency)}). " +
            $"Target overhead under {Ms(TargetOverheadMs)} ms an item: {Met(overheadMet)} (at most {Ms(worstOverhead)} ms).");
        var lapsed = results.Sum(r => r.LeaseExpirations + r.Retries);
        if (lapsed > 0)
        {
            AnsiConsole.MarkupLine($"[yellow]{lapsed} lease expirations or retries during the measured jobs: the cluster was overloaded.[/]");
        }
    }

    /// <summary>Grain calls per item on the largest cluster, and what each cost the caller and the target, per cluster size.</summary>
    private static Table CallTable(List<SchedulingResult> results)
    {
        var largest = results.MaxBy(r => r.Silos)!;
        var table = new Table().AddColumns($"grain call ({largest.Silos} silos)", "per item");
        foreach (var r in results)
        {
            table.AddColumns($"{r.Silos} silo(s): wait ms", "run ms");
        }

        foreach (var call in largest.Calls.Where(c => c.PerItem >= 0.01))
        {
            var row = new List<string> { call.Call.Replace("<T>", "", StringComparison.Ordinal), call.PerItem.ToString("F2", CultureInfo.InvariantCulture) };
            foreach (var r in results)
            {
                var same = r.Calls.FirstOrDefault(c => c.Call == call.Call);
                row.Add(same.Call is null ? "" : Ms(same.WaitMs));
                row.Add(same.Call is null ? "" : Ms(same.RunMs));
            }

            table.AddRow([.. row]);
        }

        table.Caption("wait = as the calling silo waited (queueing at the target, transport, the work); run = inside the target, its own awaited calls included; blank = not called from a silo");
        return table;
    }

    private static Table StateTable(IReadOnlyList<StateWrite> writes)
    {
        var table = new Table().AddColumns("state written whole", "binary KB", "binary ms", "JSON KB", "JSON ms");
        foreach (var w in writes)
        {
            table.AddRow(w.State, Ms(w.BinaryKb), Fine(w.BinaryMs), Ms(w.JsonKb), Fine(w.JsonMs));
        }

        table.Caption("serialization of one write (median of 7, binary and JSON alternating); the layer grain writes its index on every record, the job grain its ledger on every flush");
        return table;
    }

    private static IReadOnlyList<int> Silos(string[] args)
    {
        var i = Array.IndexOf(args, "--silos");
        return i >= 0 && i + 1 < args.Length
            ? [.. args[i + 1].Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture))]
            : [1, 2, 4, 8];
    }

    private static double Option(string[] args, string name, double fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? double.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
    }

    /// <summary>The one-minute load average: other work on the machine takes cores from the silos.</summary>
    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "unknown";

    private static string Met(bool met) => met ? "[green]met[/]" : "[red]not met[/]";

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Ms(double value) => double.IsNaN(value) ? "" : value.ToString("F1", CultureInfo.InvariantCulture);

    private static string Fine(double value) => value.ToString("F2", CultureInfo.InvariantCulture);

    private static string Percent(double value) => value.ToString("P1", CultureInfo.InvariantCulture);
}
