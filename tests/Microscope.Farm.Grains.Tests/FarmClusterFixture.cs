using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;

namespace Microscope.Farm.Grains.Tests;

/// <summary>
/// Two silos of the real Orleans runtime in this process, memory grain storage, and a render worker
/// with two slots on each, rendering with the <see cref="ScriptedEngine"/>.
/// </summary>
public sealed class FarmClusterFixture : IAsyncLifetime
{
    internal ScriptedEngine Engine { get; } = new(TimeSpan.FromMilliseconds(20));

    public InProcessTestCluster Cluster { get; private set; } = null!;

    /// <summary>How long every layer grain's RecordAsync is held back before it runs (a slow index; zero by default).</summary>
    internal TimeSpan LayerRecordDelay { get; set; }

    /// <summary>Called as each delayed layer RecordAsync is let through.</summary>
    internal Action? LayerRecordReleased { get; set; }

    public IClusterClient Client => Cluster.Client;

    public async Task InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(2);
        builder.ConfigureSilo((options, silo) =>
        {
            silo.AddMemoryGrainStorage(FarmStorageNames.Jobs).AddMemoryGrainStorage(FarmStorageNames.Index);
            silo.AddFarmGrains(o =>
            {
                o.LeaseDuration = TimeSpan.FromSeconds(3);
                o.FlushInterval = TimeSpan.FromMilliseconds(200);
            });
            silo.Services.AddSingleton<IRenderEngine>(Engine);
            silo.AddIncomingGrainCallFilter(async call =>
            {
                if (LayerRecordDelay > TimeSpan.Zero && call.Grain is ILayerGrain && call.InterfaceMethod.Name == nameof(ILayerGrain.RecordAsync))
                {
                    await Task.Delay(LayerRecordDelay);
                    LayerRecordReleased?.Invoke();
                }

                await call.Invoke();
            });
            silo.Services.AddRenderWorker(options.SiloName, w =>
            {
                w.Slots = 2;
                w.PollInterval = TimeSpan.FromMilliseconds(20);
                w.MaxPollInterval = TimeSpan.FromMilliseconds(200);
                w.HeartbeatInterval = TimeSpan.FromMilliseconds(100);
            });
        });
        Cluster = builder.Build();
        await Cluster.DeployAsync();
        await Client.GetGrain<IModelGrain>("tiny").RegisterAsync(Samples.Model());
    }

    public async Task DisposeAsync() => await Cluster.DisposeAsync();

    /// <summary>The render workers of every silo.</summary>
    internal IEnumerable<RenderWorker> Workers =>
        Cluster.Silos.Select(s => Cluster.GetSiloServiceProvider(s.SiloAddress).GetRequiredService<RenderWorker>());

    /// <summary>Polls until <paramref name="until"/> holds, or fails naming <paramref name="what"/>.</summary>
    public static async Task EventuallyAsync(Func<Task<bool>> until, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (!await until())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("timed out waiting for " + what);
            }

            await Task.Delay(50);
        }
    }

    public async Task<JobStatus> WaitAsync(string job, Func<JobStatus, bool> until, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            var status = await Client.GetGrain<IJobGrain>(job).GetStatusAsync();
            if (until(status))
            {
                return status;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"job {job} is {status.State} with {status.Counts}");
            }

            await Task.Delay(50);
        }
    }
}

[CollectionDefinition(Name)]
public sealed class FarmClusterCollection : ICollectionFixture<FarmClusterFixture>
{
    public const string Name = "farm cluster";
}
