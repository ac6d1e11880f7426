using System.Diagnostics;
using System.Text;

namespace Microscope.Farm.FaultTests;

/// <summary>
/// One farm silo as a real process (the microscope-farm executable this solution builds), configured
/// by environment variables as an operator would, with its output kept for the test's messages.
/// </summary>
internal sealed class SiloProcess : IDisposable
{
    private readonly Process process;
    private readonly StringBuilder output = new();

    private SiloProcess(string name, Process process)
    {
        Name = name;
        this.process = process;
    }

    public string Name { get; }

    public bool HasExited => process.HasExited;

    /// <summary>The process's memory from /proc: resident now (VmRSS) and its peak so far (VmHWM), in bytes.</summary>
    public (long Resident, long Peak) Memory()
    {
        var status = File.ReadAllLines($"/proc/{process.Id}/status");
        long Field(string name) => long.Parse(status.Single(l => l.StartsWith(name + ":", StringComparison.Ordinal))[(name.Length + 1)..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
        return (Field("VmRSS"), Field("VmHWM"));
    }

    /// <summary>The files the process has mapped (its loaded libraries and assemblies), from /proc/&lt;pid&gt;/maps.</summary>
    public IReadOnlyList<string> MappedFiles() =>
        [.. File.ReadAllLines($"/proc/{process.Id}/maps").Select(l => l.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries)).Where(f => f.Length == 6 && f[5].StartsWith('/')).Select(f => f[5].Trim()).Distinct()];

    public string Output
    {
        get
        {
            lock (output)
            {
                return output.ToString();
            }
        }
    }

    public static SiloProcess Start(string name, IReadOnlyDictionary<string, string> environment)
    {
        var host = HostPath();
        var info = new ProcessStartInfo("dotnet", [host]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = Path.GetDirectoryName(host)! };
        info.Environment["DOTNET_ENVIRONMENT"] = "Production";
        info.Environment["Logging__LogLevel__Default"] = "Information";
        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var silo = new SiloProcess(name, process);
        process.OutputDataReceived += (_, e) => silo.Append(e.Data);
        process.ErrorDataReceived += (_, e) => silo.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return silo;
    }

    /// <summary>Polls until <paramref name="ready"/> holds (requests that fail while it starts count as not yet); fails with its output when it exits or the time is up.</summary>
    public async Task WaitUntilAsync(Func<Task<bool>> ready, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            Assert.False(HasExited, $"{Name} exited before {what}:\n{Output}");
            Assert.True(DateTime.UtcNow < deadline, $"{Name}: no {what} within {timeout}:\n{Output}");
            try
            {
                if (await ready())
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
            }

            await Task.Delay(300);
        }
    }

    /// <summary>Waits for the process to exit by itself; its exit code.</summary>
    public async Task<int> ExitCodeAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await process.WaitForExitAsync(cts.Token);
        return process.ExitCode;
    }

    /// <summary>kill -9: no shutdown, no hand-back; its leases must lapse.</summary>
    public void Kill()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
        }
    }

    /// <summary>SIGTERM: a graceful shutdown that hands back leases.</summary>
    public async Task StopAsync(TimeSpan timeout)
    {
        if (process.HasExited)
        {
            return;
        }

        using var term = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        await term!.WaitForExitAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            Kill();
        }
    }

    public void Dispose()
    {
        Kill();
        process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (output)
        {
            output.AppendLine($"[{Name}] {line}");
        }
    }

    /// <summary>The host's build output next to this test's: same configuration, same target framework.</summary>
    private static string HostPath()
    {
        var here = AppContext.BaseDirectory;
        var marker = Path.Combine("tests", "Microscope.Farm.FaultTests", "bin");
        var index = here.IndexOf(marker, StringComparison.Ordinal);
        if (index < 0)
        {
            throw new InvalidOperationException($"cannot find the solution from {here}");
        }

        var host = Path.Combine(here[..index], "src", "Microscope.Farm.Host", "bin", here[(index + marker.Length + 1)..], "microscope-farm.dll");
        return File.Exists(host) ? host : throw new FileNotFoundException($"the farm host is not built at {host}; build the solution first.");
    }
}
