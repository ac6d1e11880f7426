using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Microscope.Testing;

/// <summary>
/// A private Azurite (the Azure Storage emulator, from npm) on free loopback ports with its own data
/// folder: blob, queue and table. Tests start, stop and restart it to play storage outages; stopping
/// keeps the data, as a real outage would.
/// </summary>
public sealed class Azurite : IAsyncDisposable
{
    private const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    private readonly string location = Path.Combine(Path.GetTempPath(), "microscope-azurite-" + Guid.NewGuid().ToString("N")[..8]);
    private Process? process;
    private int closed;
    private bool checkApiVersion;

    private Azurite(int blob, int queue, int table)
    {
        (BlobPort, QueuePort, TablePort) = (blob, queue, table);
    }

    public int BlobPort { get; }

    public int QueuePort { get; }

    public int TablePort { get; }

    public string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={AccountKey};" +
        $"BlobEndpoint=http://127.0.0.1:{BlobPort}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:{QueuePort}/devstoreaccount1;TableEndpoint=http://127.0.0.1:{TablePort}/devstoreaccount1;";

    /// <param name="checkApiVersion">Whether Azurite refuses storage API versions newer than its own (as it does unless told --skipApiVersionCheck).</param>
    public static async Task<Azurite> StartAsync(bool checkApiVersion = false)
    {
        var azurite = new Azurite(FreePort(), FreePort(), FreePort()) { checkApiVersion = checkApiVersion };
        await azurite.RestartAsync();
        return azurite;
    }

    /// <summary>
    /// Starts (again) on the same ports and data folder, and waits until every port answers. It waits
    /// for a live process as long as it lives (up to five minutes: Node starts slowly on a starved
    /// CPU), and starts it again when it exits because a port is still held by the instance just
    /// stopped. A start that fails says why, with the end of Azurite's own output.
    /// </summary>
    public async Task RestartAsync()
    {
        for (var attempt = 1; ; attempt++)
        {
            var (started, output) = await TryStartAsync();
            if (started)
            {
                return;
            }

            var held = output.Contains("EADDRINUSE", StringComparison.Ordinal);
            if (!held || attempt == 5)
            {
                throw new InvalidOperationException($"Azurite did not start on ports {BlobPort}, {QueuePort}, {TablePort} ({Executable()}): {output}");
            }

            await Task.Delay(TimeSpan.FromSeconds(attempt));
        }
    }

    private async Task<(bool Started, string Output)> TryStartAsync()
    {
        var binary = Executable();
        Directory.CreateDirectory(location);
        var info = new ProcessStartInfo(binary, [
            "--blobHost", "127.0.0.1", "--blobPort", Port(BlobPort), "--queueHost", "127.0.0.1", "--queuePort", Port(QueuePort),
            "--tableHost", "127.0.0.1", "--tablePort", Port(TablePort), "--location", location, "--loose", "--silent",
        ])
        { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (!checkApiVersion)
        {
            info.ArgumentList.Add("--skipApiVersionCheck");
        }

        var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
        void Keep(string? line)
        {
            if (line is null)
            {
                return;
            }

            output.Enqueue(line);
            while (output.Count > 20)
            {
                output.TryDequeue(out _);
            }
        }

        process = Process.Start(info)!;
        Interlocked.Exchange(ref closed, 0);

        // On SIGTERM Azurite closes its three services (saving their metadata) and says so, but may not exit.
        process.OutputDataReceived += (_, e) =>
        {
            Keep(e.Data);
            if (e.Data?.Contains("successfully closed", StringComparison.OrdinalIgnoreCase) == true)
            {
                Interlocked.Increment(ref closed);
            }
        };
        process.ErrorDataReceived += (_, e) => Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddMinutes(5);
        foreach (var port in new[] { BlobPort, QueuePort, TablePort })
        {
            while (!await AnswersAsync(port))
            {
                if (process.HasExited)
                {
                    process.WaitForExit();
                    var said = $"it exited with {process.ExitCode} before port {port} answered; it said: {string.Join(" | ", output)}";
                    process.Dispose();
                    process = null;
                    return (false, said);
                }

                if (DateTime.UtcNow > deadline)
                {
                    Stop();
                    return (false, $"port {port} did not answer within 5 minutes; it said: {string.Join(" | ", output)}");
                }

                await Task.Delay(100);
            }
        }

        return (true, "");
    }

    /// <summary>
    /// Stops the process; the data stays for <see cref="RestartAsync"/>. Azurite keeps its metadata
    /// in memory and saves it on a signal, so it is asked to stop (SIGTERM) before it is killed: a
    /// storage outage takes the service away, not what it had stored.
    /// </summary>
    public void Stop()
    {
        if (process is { HasExited: false })
        {
            using (var term = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                term!.WaitForExit();
            }

            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (!process.HasExited && Volatile.Read(ref closed) < 3 && DateTime.UtcNow < deadline)
            {
                Thread.Sleep(50);
            }

            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit();
            }
        }

        process?.Dispose();
        process = null;
    }

    public ValueTask DisposeAsync()
    {
        Stop();
        try
        {
            Directory.Delete(location, recursive: true);
        }
        catch (IOException)
        {
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>tools/azurite's pinned install, installed from its lock file on first use.</summary>
    private static string Executable()
    {
        var tools = Path.Combine(RepositoryRoot.Path, "tools", "azurite");
        var binary = Path.Combine(tools, "node_modules", ".bin", "azurite");
        if (!File.Exists(binary))
        {
            using var npm = Process.Start(new ProcessStartInfo("npm", ["ci", "--no-audit", "--no-fund"]) { WorkingDirectory = tools, UseShellExecute = false })!;
            npm.WaitForExit();
            if (npm.ExitCode != 0 || !File.Exists(binary))
            {
                throw new InvalidOperationException($"could not install Azurite in {tools} (npm ci exited {npm.ExitCode}).");
            }
        }

        return binary;
    }

    private static async Task<bool> AnswersAsync(int port)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string Port(int port) => port.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
