using System.Diagnostics;
using Microscope.Farm.Rendering;
using Microscope.Farm.Storage;
using Microscope.Inference;
using Microscope.Onnx;
using Microscope.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using OpenTelemetry;
using OpenTelemetry.Trace;
using Orleans.TestingHost;

namespace Microscope.Farm.Grains.Tests;

/// <summary>
/// The in-process cluster rendering a small real model with the real lens engine into a filesystem
/// lens store, traced with OpenTelemetry into memory.
/// </summary>
public sealed class RealModelFarmTests : IAsyncLifetime
{
    private static readonly ActivitySource Test = new("Microscope.Farm.Tests");
    private readonly string folder = Path.Combine(Path.GetTempPath(), "microscope-farm-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly List<Activity> spans = [];
    private TracerProvider tracing = null!;
    private InProcessTestCluster cluster = null!;
    private FileSystemLensStore store = null!;
    private ModelInfo model = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(folder);
        tracing = Sdk.CreateTracerProviderBuilder()
            .AddSource(FarmTelemetry.Name, Test.Name, "Microsoft.Orleans.Runtime", "Microsoft.Orleans.Application")
            .AddInMemoryExporter(spans)
            .Build()!;
        store = new FileSystemLensStore(Path.Combine(folder, "lenses"));
        var path = Path.Combine(folder, "small.onnx");
        File.WriteAllBytes(path, OnnxModelFile.ToBytes(TinyModel.SmallCnn(size: 32)));
        model = await ModelPackages.PublishAsync(store, Organisms.OrganismRegistry.Default.Resolve(path));

        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((options, silo) =>
        {
            silo.AddMemoryGrainStorage(FarmStorageNames.Jobs).AddMemoryGrainStorage(FarmStorageNames.Index);
            silo.AddFarmGrains(o => o.FlushInterval = TimeSpan.FromMilliseconds(200));
            silo.Services.AddSingleton<ILensStore>(store);
            silo.Services.AddSingleton<IRenderEngine>(_ => new LensRenderEngine(store,
                new ModelCache(store, Path.Combine(folder, "cache"), new SessionSettings(), NullLogger<ModelCache>.Instance), new RenderEngineOptions()));
            silo.Services.AddRenderWorker(options.SiloName, w =>
            {
                w.Slots = 2;
                w.PollInterval = TimeSpan.FromMilliseconds(20);
            });
        });
        builder.ConfigureClient(client => client.AddActivityPropagation());
        cluster = builder.Build();
        await cluster.DeployAsync();
        await cluster.Client.GetGrain<IModelGrain>(model.Id).RegisterAsync(model);
    }

    public async Task DisposeAsync()
    {
        await cluster.DisposeAsync();
        tracing.Dispose();
        Directory.Delete(folder, recursive: true);
    }

    [Fact]
    public async Task Every_unit_of_a_layer_gets_exactly_one_stored_lens_per_lens_and_the_layer_manifest_lists_them()
    {
        var layer = model.Layers.First(l => l.Units == 6);
        var job = await cluster.Client.GetGrain<IJobDirectoryGrain>(0).SubmitAsync(new JobSpec
        {
            Model = model.Id, Layers = [layer.Id], Lenses = ["featurevis", "negative"], UnitsPerItem = 2, Options = new LensOptions { Steps = 8, Size = 32 },
        });
        var done = await WaitAsync(job.Id);

        Assert.Equal(JobState.Completed, done.State);
        var stored = await ListAsync($"models/{model.Id}/{model.Version}/layers/{layer.Id}/units/");
        Assert.Equal(6 * 2 * 2, stored.Count);
        Assert.All(stored.GroupBy(p => p[..p.LastIndexOf('/')]), g => Assert.Equal([".json", ".png"], g.Select(Path.GetExtension).Order()));
        Assert.Equal(12, stored.GroupBy(p => p[..p.LastIndexOf('/')]).Count());

        var unit = await cluster.Client.GetGrain<IUnitGrain>(FarmIds.Unit(model.Id, layer.Id, 5)).GetAsync();
        Assert.Equal(["featurevis", "negative"], unit.Lenses.Select(l => l.Lens).Order());
        Assert.All(unit.Lenses, l => Assert.Equal(["objectiveAfter", "objectiveBefore", "objectiveUnderTransforms", "transformDraws"], l.Quality.Keys.Order()));

        var manifestPath = LensPaths.LayerIndex(model.Id, model.Version, layer.Id);
        // The manifest is rewritten every couple of seconds while records arrive: wait for the one written after the last.
        var deadline = DateTime.UtcNow.AddSeconds(15);
        System.Text.Json.JsonDocument? manifest = null;
        while (DateTime.UtcNow < deadline)
        {
            manifest?.Dispose();
            manifest = await store.GetAsync(manifestPath) is { } blob ? System.Text.Json.JsonDocument.Parse(blob.Content) : null;
            if (manifest?.RootElement.GetProperty("units").EnumerateObject().Sum(u => u.Value.GetArrayLength()) == 12)
            {
                break;
            }

            await Task.Delay(200);
        }

        Assert.NotNull(manifest);
        Assert.Equal(6, manifest.RootElement.GetProperty("units").EnumerateObject().Count());
        Assert.All(manifest.RootElement.GetProperty("units").EnumerateObject(), u => Assert.Equal(2, u.Value.GetArrayLength()));
        manifest.Dispose();

        // A second job of the same lenses renders nothing: every output is found stored.
        var again = await WaitAsync((await cluster.Client.GetGrain<IJobDirectoryGrain>(0).SubmitAsync(new JobSpec
        {
            Model = model.Id, Layers = [layer.Id], Lenses = ["featurevis"], UnitsPerItem = 3, Options = new LensOptions { Steps = 8, Size = 32 },
        })).Id);
        Assert.Equal(0, again.Renders);
        Assert.Equal(JobState.Completed, again.State);
    }

    [Fact]
    public async Task One_trace_runs_from_the_submission_to_the_blob_write()
    {
        string jobId;
        ActivityTraceId trace;
        using (var submit = Test.StartActivity("submit job", ActivityKind.Client))
        {
            trace = submit!.TraceId;
            var job = await cluster.Client.GetGrain<IJobDirectoryGrain>(0).SubmitAsync(new JobSpec
            {
                Model = model.Id, Layers = [model.Layers[^1].Id], Units = [0], Options = new LensOptions { Steps = 4, Size = 32 },
            });
            jobId = job.Id;
        }

        await WaitAsync(jobId);
        await Task.Delay(200);
        tracing.ForceFlush();
        var all = spans.ToList();
        var write = all.Single(s => s.DisplayName == "lens-store write" && s.TraceId == trace);
        var byId = all.ToDictionary(s => s.SpanId);
        var chain = new List<string>();
        for (var span = write; span is not null; span = byId.GetValueOrDefault(span.ParentSpanId))
        {
            chain.Add(span.DisplayName);
        }

        Assert.Equal("submit job", chain[^1]);
        Assert.Contains("render featurevis", chain);
        var render = all.Single(s => s.DisplayName == "render featurevis" && s.TraceId == trace);
        Assert.Equal(model.Id, render.GetTagItem(FarmTelemetry.Tags.Model));
        Assert.Equal("cpu", render.GetTagItem(FarmTelemetry.Tags.Device));
    }

    private async Task<JobStatus> WaitAsync(string job)
    {
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (true)
        {
            var status = await cluster.Client.GetGrain<IJobGrain>(job).GetStatusAsync();
            if (status.IsFinished)
            {
                return status;
            }

            Assert.True(DateTime.UtcNow < deadline, $"job {job}: {status.State} {status.Counts}");
            await Task.Delay(50);
        }
    }

    private async Task<List<string>> ListAsync(string prefix)
    {
        var paths = new List<string>();
        await foreach (var path in store.ListAsync(prefix))
        {
            paths.Add(path);
        }

        return paths;
    }
}
