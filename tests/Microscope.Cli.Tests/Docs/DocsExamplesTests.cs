using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microscope.Testing;
using Xunit.Abstractions;

namespace Microscope.Cli.Tests.Docs;

/// <summary>
/// Every runnable shell example of README.md and docs/*.md, run as written with bash against the
/// built tree and a farm this test starts (its address put where the docs say 127.0.0.1:8080; the
/// simulated render engine, so jobs cost no CPU), shrunk by MICROSCOPE_SMOKE=1 (steps, units, sizes).
/// An example fails on a non-zero exit, and curl on an HTTP status of 400 or above (--fail-with-body).
/// The placeholders the docs use exist in the folder the examples run in: path/to/model.onnx,
/// my-model.onnx and mynet.onnx with manifests, prep.onnx, photo.jpg, the dataset DIR; and
/// $KEY, $SILO and $LAYER in the environment.
/// </summary>
[Trait("Category", "Docs")]
public sealed class DocsExamplesTests(ITestOutputHelper output)
{
    private static readonly string Root = FindRoot();

    [Fact]
    public void The_convention_runs_bash_and_sh_blocks_and_leaves_out_those_marked_not_runnable()
    {
        const string text = """
            ```bash
            ./microscope models list
            ```
            <!-- not runnable here: needs a GPU -->
            ```sh
            ./microscope render resnet18 --device cuda:0
            ```
            ```json
            { "id": "x" }
            ```
            1. In a list:

               ```bash
               curl -s http://127.0.0.1:8080/healthz
               ```
            """;

        var examples = DocExamples.Extract("x.md", text).ToList();

        Assert.Equal(["./microscope models list", "./microscope render resnet18 --device cuda:0", "curl -s http://127.0.0.1:8080/healthz"], examples.Select(e => e.Code));
        Assert.Equal([null, "needs a GPU", null], examples.Select(e => e.NotRunnable));
        Assert.Equal(1, examples[0].Line);
    }

    [Fact]
    public async Task Every_runnable_shell_example_in_the_docs_runs_as_written()
    {
        var examples = new[] { "README.md" }.Concat(Directory.GetFiles(Path.Combine(Root, "docs"), "*.md").Select(f => Path.GetRelativePath(Root, f)).Order(StringComparer.Ordinal))
            .SelectMany(f => DocExamples.Extract(f, File.ReadAllText(Path.Combine(Root, f))))
            .ToList();
        var runnable = examples.Where(e => e.NotRunnable is null).ToList();
        Assert.NotEmpty(runnable);

        var folder = Directory.CreateTempSubdirectory("microscope-docs-").FullName;
        try
        {
            await using var farm = await DocsFarm.StartAsync(Path.Combine(folder, "farm-data"));
            var work = Path.Combine(folder, "work");
            var environment = await Placeholders.WriteAsync(work, Root, farm);
            // Examples that talk to the farm run one after another in the docs' order (an upload, then
            // its job); the command-line ones beside them, one at a time too (they are CPU-bound: more at
            // once only lengthens each on two cores).
            var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
            async Task RunOneAsync(DocExample example)
            {
                var clock = Stopwatch.StartNew();
                var (code, log) = await RunAsync(example, work, environment, farm.Url);
                output.WriteLine($"{example}: exit {code} in {clock.Elapsed.TotalSeconds:F1} s");
                if (code != 0)
                {
                    failures.Add($"{example} exited {code}:\n{example.Code}\n--- output ---\n{log}");
                }
            }

            var (farmExamples, commandExamples) = (runnable.Where(TalksToTheFarm).ToList(), runnable.Where(e => !TalksToTheFarm(e)).ToList());
            var all = Stopwatch.StartNew();
            await Task.WhenAll(
                Task.Run(async () =>
                {
                    foreach (var example in farmExamples)
                    {
                        await RunOneAsync(example);
                    }
                }),
                Parallel.ForEachAsync(commandExamples, new ParallelOptions { MaxDegreeOfParallelism = 1 }, async (example, _) => await RunOneAsync(example)));
            output.WriteLine($"all examples in {all.Elapsed.TotalSeconds:F0} s");

            var left = examples.Where(e => e.NotRunnable is not null).ToList();
            output.WriteLine($"{runnable.Count} examples run, {left.Count} left out as not runnable here:");
            foreach (var e in left)
            {
                output.WriteLine($"  {e}: {e.NotRunnable}");
            }

            Console.WriteLine($"docs examples: {runnable.Count} run, {left.Count} left out as not runnable here (GPU, Kubernetes, containers, long-running processes)");
            Assert.True(failures.IsEmpty, string.Join("\n\n", failures) + "\n--- farm ---\n" + farm.Output);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static bool TalksToTheFarm(DocExample example) => example.Code.Contains("127.0.0.1:8080", StringComparison.Ordinal) || example.Code.Contains("localhost:8080", StringComparison.Ordinal);

    /// <summary>Runs one example with bash -e: curl fails on an HTTP error status, the docs' address is the test farm's.</summary>
    private static async Task<(int Code, string Log)> RunAsync(DocExample example, string work, IReadOnlyDictionary<string, string> environment, string farmUrl)
    {
        var script = "set -eo pipefail\ncurl() { command curl --fail-with-body --max-time 60 \"$@\"; }\n"
            + example.Code.Replace("http://127.0.0.1:8080", farmUrl, StringComparison.Ordinal).Replace("http://localhost:8080", farmUrl, StringComparison.Ordinal);
        var info = new ProcessStartInfo("bash", ["-c", script]) { WorkingDirectory = work, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(6));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            return (-1, "timed out after 6 minutes\n" + await stdout + await stderr);
        }

        var log = (await stdout) + (await stderr);
        return (process.ExitCode, log.Length > 4000 ? log[^4000..] : log);
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Microscope.Farm.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("the repository root (Microscope.Farm.sln) is not above " + AppContext.BaseDirectory);
    }

    /// <summary>The files and variables the docs' placeholders name, in the folder the examples run in.</summary>
    private static class Placeholders
    {
        public static async Task<IReadOnlyDictionary<string, string>> WriteAsync(string work, string root, DocsFarm farm)
        {
            Directory.CreateDirectory(Path.Combine(work, "path", "to"));
            var model = Onnx.OnnxModelFile.ToBytes(TinyModel.SmallCnn(size: 32));
            foreach (var name in (string[])["path/to/model.onnx", "my-model.onnx", "mynet.onnx"])
            {
                await File.WriteAllBytesAsync(Path.Combine(work, name), model);
            }

            var identity = new TinyModel();
            var x = identity.Input("x", -1, 3, -1, -1);
            identity.Output(identity.Op("Mul", [x, identity.Constant([1], [1.0])]));
            await File.WriteAllBytesAsync(Path.Combine(work, "prep.onnx"), identity.ToBytes());
            await File.WriteAllTextAsync(Path.Combine(work, "my-model.manifest.json"), """{ "id": "my-model", "model": "my-model.onnx", "input": { "size": [32, 32] } }""");
            await File.WriteAllTextAsync(Path.Combine(work, "mynet.manifest.json"), """{ "id": "mynet", "model": "mynet.onnx", "input": { "size": [32, 32], "preprocessingModel": "prep.onnx" } }""");

            Directory.CreateDirectory(Path.Combine(work, "DIR"));
            for (var i = 0; i < 4; i++)
            {
                await File.WriteAllBytesAsync(Path.Combine(work, "DIR", $"image{i}.jpg"), Jpeg(40 + (60 * i)));
            }

            await File.WriteAllBytesAsync(Path.Combine(work, "photo.jpg"), Jpeg(90));

            // The repository's own entries as links, so that paths the docs give from the root (bench/,
            // deploy/, tests/) mean the same here; its scripts as wrappers that run them where they are
            // (a script finds the tree from its own path, and must not see links newer than its build).
            foreach (var entry in Directory.EnumerateFileSystemEntries(root).Where(e => Path.GetFileName(e) is not (".git" or "out")))
            {
                var here = Path.Combine(work, Path.GetFileName(entry));
                if (Path.GetFileName(entry) is "microscope" or "farm")
                {
                    await File.WriteAllTextAsync(here, $"#!/usr/bin/env bash\nexec '{entry}' \"$@\"\n");
                    if (!OperatingSystem.IsWindows())
                    {
                        File.SetUnixFileMode(here, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                    }
                }
                else
                {
                    File.CreateSymbolicLink(here, entry);
                }
            }

            return new Dictionary<string, string>
            {
                ["MICROSCOPE_SMOKE"] = "1",
                ["KEY"] = "docs-test-key",
                ["LAYER"] = "Relu_4",
                ["SILO"] = await farm.SiloAsync(),
            };
        }

        private static byte[] Jpeg(int shade)
        {
            using var bitmap = new SkiaSharp.SKBitmap(48, 48);
            bitmap.Erase(new SkiaSharp.SKColor((byte)shade, 120, (byte)(255 - shade)));
            using var data = bitmap.Encode(SkiaSharp.SKEncodedImageFormat.Jpeg, 90);
            return data.ToArray();
        }
    }

    /// <summary>The embedded farm (role all) as ./run.sh starts it, but on free ports, the simulated engine and no default job.</summary>
    private sealed class DocsFarm : IAsyncDisposable
    {
        private readonly Process process;
        private readonly StringBuilder log = new();

        private DocsFarm(Process process, string url)
        {
            this.process = process;
            Url = url;
        }

        public string Url { get; }

        public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(30) };

        public string Output
        {
            get
            {
                lock (log)
                {
                    return log.ToString();
                }
            }
        }

        public static async Task<DocsFarm> StartAsync(string data)
        {
            var host = Path.Combine(Root, "src", "Microscope.Farm.Host", "bin", "Release", "net10.0", "microscope-farm.dll");
            Assert.True(File.Exists(host), $"the farm host is not built at {host}: build the solution in Release (./test.sh does).");
            var url = $"http://127.0.0.1:{Azurite.FreePort()}";
            var info = new ProcessStartInfo("dotnet", [host]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = Path.GetDirectoryName(host)! };
            info.Environment["DOTNET_ENVIRONMENT"] = "Production";
            info.Environment["Farm__Http__Url"] = url;
            info.Environment["Farm__Cluster__SiloPort"] = Azurite.FreePort().ToString(CultureInfo.InvariantCulture);
            info.Environment["Farm__Cluster__GatewayPort"] = Azurite.FreePort().ToString(CultureInfo.InvariantCulture);
            info.Environment["Farm__Store__Path"] = data;
            info.Environment["Farm__DefaultJob__Enabled"] = "false";
            info.Environment["Farm__Engine__Kind"] = "simulated";

            // The dataset step of adding-a-model-organism.md: a dataset job is refused unless a render silo has it (the simulated engine reads no images).
            info.Environment["Farm__Engine__Datasets__default"] = Path.Combine(data, "images");
            info.Environment["Farm__Render__HeartbeatInterval"] = "00:00:00.500";
            var farm = new DocsFarm(Process.Start(info)!, url);
            farm.process.OutputDataReceived += (_, e) => farm.Append(e.Data);
            farm.process.ErrorDataReceived += (_, e) => farm.Append(e.Data);
            farm.process.BeginOutputReadLine();
            farm.process.BeginErrorReadLine();
            await farm.UntilAsync(async () => (await farm.Http.GetAsync($"{url}/api/models/resnet18")).IsSuccessStatusCode, "resnet18 registered");
            return farm;
        }

        /// <summary>The silo of the farm's render worker, once it has reported (what $SILO stands for in the docs).</summary>
        public async Task<string> SiloAsync()
        {
            var silo = "";
            await UntilAsync(async () =>
            {
                var workers = await Http.GetFromJsonAsync<JsonElement>($"{Url}/api/workers");
                silo = workers.GetArrayLength() > 0 ? workers[0].GetProperty("info").GetProperty("silo").GetString()! : "";
                return silo.Length > 0;
            }, "a render worker listed");
            return silo;
        }

        public async ValueTask DisposeAsync()
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }

            process.Dispose();
            Http.Dispose();
        }

        private async Task UntilAsync(Func<Task<bool>> condition, string what)
        {
            var deadline = DateTime.UtcNow.AddMinutes(2);
            while (true)
            {
                Assert.False(process.HasExited, $"the farm stopped before {what}:\n{Output}");
                Assert.True(DateTime.UtcNow < deadline, $"no {what} within 2 minutes:\n{Output}");
                try
                {
                    if (await condition())
                    {
                        return;
                    }
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                }

                await Task.Delay(250);
            }
        }

        private void Append(string? line)
        {
            if (line is not null)
            {
                lock (log)
                {
                    log.AppendLine(line);
                }
            }
        }
    }
}
