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

    /// <summary>Starts (again) on the same ports and data folder, and waits until every port answers.</summary>
    public async Task RestartAsync()
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

        process = Process.Start(info)!;
        Interlocked.Exchange(ref closed, 0);

        // On SIGTERM Azurite closes its three services (saving their metadata) and says so, but may not exit.
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data?.Contains("successfully closed", StringComparison.OrdinalIgnoreCase) == true)
            {
                Interlocked.Increment(ref closed);
            }
        };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        foreach (var port in new[] { BlobPort, QueuePort, TablePort })
        {
            while (!await AnswersAsync(port))
            {
                if (process.HasExited || DateTime.UtcNow > deadline)
                {
                    throw new InvalidOperationException($"Azurite did not start on port {port} ({binary}).");
                }

                await Task.Delay(100);
            }
        }
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
