using Microscope.Inference;
using Microscope.Farm.Grains;
using Microscope.Lenses;

namespace Microscope.Farm.Host;

/// <summary>Everything the host is configured with (section "Farm"); every value has the embedded default.</summary>
public sealed class FarmHostOptions
{
    public const string Section = "Farm";

    /// <summary>all (the embedded default: one process), api (read API and UI, no rendering), or render.</summary>
    public string Role { get; set; } = "all";

    public HttpOptions Http { get; set; } = new();

    public ClusterOptions Cluster { get; set; } = new();

    public StoreOptions Store { get; set; } = new();

    /// <summary>Organisms the api role publishes and registers at start: built-in ids or paths of .onnx files.</summary>
    /// <remarks>Lists start empty and get their defaults in <see cref="Validate"/>: configuration binding appends to a list, it does not replace it.</remarks>
    public List<string> Organisms { get; set; } = [];

    public DefaultJobOptions DefaultJob { get; set; } = new();

    public EngineOptions Engine { get; set; } = new();

    /// <summary>The device side of Farm:Render (slots, tags and polling are the render worker's, <c>RenderWorkerOptions</c>).</summary>
    public RenderDeviceOptions Render { get; set; } = new();

    public bool ServesApi => Role is "all" or "api";

    public bool Renders => Role is "all" or "render";

    /// <summary>Checks the configuration and fills the defaults of lists; the message names the setting to fix.</summary>
    public void Validate()
    {
        Organisms = Organisms.Count == 0 ? ["resnet18"] : [.. Organisms.Distinct()];
        DefaultJob.Lenses = DefaultJob.Lenses.Count == 0 ? ["featurevis"] : [.. DefaultJob.Lenses.Distinct()];
        if (Role is not ("all" or "api" or "render"))
        {
            throw new ArgumentException($"Farm:Role must be all, api or render, not '{Role}'.");
        }

        if (Cluster.Clustering is not ("localhost" or "azure" or "kubernetes"))
        {
            throw new ArgumentException($"Farm:Cluster:Clustering must be localhost, azure or kubernetes, not '{Cluster.Clustering}'.");
        }

        if (Store.Kind is not ("filesystem" or "blob"))
        {
            throw new ArgumentException($"Farm:Store:Kind must be filesystem or blob, not '{Store.Kind}'.");
        }

        if (string.IsNullOrWhiteSpace(Store.ConnectionString))
        {
            if (Store.Kind == "blob" && string.IsNullOrWhiteSpace(Store.BlobServiceUri))
            {
                throw new ArgumentException("blob storage needs Farm:Store:ConnectionString (an Azure Storage connection string; Azurite's locally) or Farm:Store:BlobServiceUri (with a workload or managed identity).");
            }

            if (Cluster.Clustering is "azure" or "kubernetes" && string.IsNullOrWhiteSpace(Store.TableServiceUri))
            {
                throw new ArgumentException($"{Cluster.Clustering} clustering needs Farm:Store:ConnectionString or Farm:Store:TableServiceUri (Azure Table Storage holds the membership).");
            }
        }

        if (Render.CudaFallback is not ("cpu" or "refuse"))
        {
            throw new ArgumentException($"Farm:Render:CudaFallback must be cpu or refuse, not '{Render.CudaFallback}'.");
        }

        if (!Enum.TryParse<RenderLoop>(Render.Loop, ignoreCase: true, out _) || int.TryParse(Render.Loop, out _))
        {
            throw new ArgumentException($"Farm:Render:Loop must be auto, host or device, not '{Render.Loop}'.");
        }

        if (Render.CudaMemoryMegabytes < 0)
        {
            throw new ArgumentException($"Farm:Render:CudaMemoryMegabytes must be 0 (no limit) or a number of MiB, not {Render.CudaMemoryMegabytes}.");
        }

        if (Renders && SizingProblem(Render) is { } sizing)
        {
            throw new ArgumentException(sizing);
        }

        if (Engine.Kind is not ("lens" or "simulated"))
        {
            throw new ArgumentException($"Farm:Engine:Kind must be lens or simulated, not '{Engine.Kind}'.");
        }
    }

    /// <summary>Render silos only, and in a method of its own: an api silo validating its settings does not load the lens library (BatchSizing).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static string? SizingProblem(RenderDeviceOptions render) => render.Sizing(1).Problem("Farm:Render:");

    public sealed class HttpOptions
    {
        /// <summary>Where the API, health and metrics listen.</summary>
        public string Url { get; set; } = "http://127.0.0.1:8080";
    }

    public sealed class ClusterOptions
    {
        /// <summary>localhost (one machine), azure (Azure Table Storage; Azurite locally), kubernetes.</summary>
        public string Clustering { get; set; } = "localhost";

        public string ServiceId { get; set; } = "microscope-farm";

        public string ClusterId { get; set; } = "dev";

        public int SiloPort { get; set; } = 11111;

        public int GatewayPort { get; set; } = 30000;

        /// <summary>localhost clustering: the silo port of the first silo (this one when null).</summary>
        public int? PrimarySiloPort { get; set; }

        /// <summary>The address other silos reach this one at.</summary>
        public string AdvertisedAddress { get; set; } = "127.0.0.1";

        /// <summary>How long a shutdown waits for renders to hand back their leases.</summary>
        public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(30);
    }

    public sealed class StoreOptions
    {
        /// <summary>filesystem (the embedded default) or blob (Azure Blob Storage).</summary>
        public string Kind { get; set; } = "filesystem";

        /// <summary>The farm's folder: lenses/ for the filesystem store, grains/ for grain state with localhost clustering.</summary>
        public string Path { get; set; } = "farm-data";

        /// <summary>An Azure Storage connection string (account keys; Azurite's locally). Without one, the service URIs and DefaultAzureCredential are used.</summary>
        public string? ConnectionString { get; set; }

        /// <summary>https://{account}.blob.core.windows.net/: blob storage with a workload or managed identity.</summary>
        public string? BlobServiceUri { get; set; }

        /// <summary>https://{account}.table.core.windows.net/: clustering with a workload or managed identity.</summary>
        public string? TableServiceUri { get; set; }

        public string Container { get; set; } = "lenses";

        /// <summary>How long storage calls are retried before the work pauses.</summary>
        public TimeSpan RetryBudget { get; set; } = TimeSpan.FromSeconds(30);
    }

    public sealed class DefaultJobOptions
    {
        /// <summary>Submit a job at start (once: it is idempotent on its client token, so a restart resumes it).</summary>
        public bool Enabled { get; set; } = true;

        public string Model { get; set; } = "resnet18";

        /// <summary>featurevis when empty.</summary>
        public List<string> Lenses { get; set; } = [];

        public List<string> Layers { get; set; } = [];

        public List<int>? Units { get; set; }

        public int Steps { get; set; } = 128;

        public int Size { get; set; } = 128;

        public int UnitsPerItem { get; set; } = 4;

        public int Priority { get; set; }
    }

    public sealed class RenderDeviceOptions
    {
        /// <summary>cpu or cuda:N.</summary>
        public string Device { get; set; } = "cpu";

        /// <summary>When cuda:N is asked for and its libraries are missing: cpu (one warning line, then render on CPU) or refuse (the silo does not start).</summary>
        public string CudaFallback { get; set; } = "cpu";

        /// <summary>The CUDA memory arena's limit in MiB per session (0: no limit).</summary>
        public long CudaMemoryMegabytes { get; set; }

        /// <summary>ONNX Runtime threads per op (0: one per core); set it to cores ÷ slots on CPU silos.</summary>
        public int IntraOpThreads { get; set; }

        /// <summary>
        /// Where feature visualization keeps its images, gradients and optimizer state between steps:
        /// auto (on the device under CUDA, on the host on CPU), host or device.
        /// </summary>
        public string Loop { get; set; } = "auto";

        /// <summary>
        /// The fraction of the device's free memory at start that the render slots plan their passes
        /// for, together: an item's units go in as few passes as fit each slot's share.
        /// </summary>
        public double MemoryHeadroom { get; set; } = 0.8;

        /// <summary>Most images in one feature-visualization pass whatever the memory (unset: no cap).</summary>
        public int? MaxBatch { get; set; }

        /// <summary>The pass sizing these settings give, for <paramref name="slots"/> render slots.</summary>
        public BatchSizing Sizing(int slots) => new() { MemoryHeadroom = MemoryHeadroom, MaxBatch = MaxBatch, Slots = slots };
    }

    public sealed class EngineOptions
    {
        /// <summary>lens (real renders) or simulated (a fixed time and no CPU: scheduling benchmarks and fault drills).</summary>
        public string Kind { get; set; } = "lens";

        public int SimulatedMilliseconds { get; set; } = 50;

        /// <summary>Where render silos keep model packages fetched from the store.</summary>
        public string? CacheFolder { get; set; }

        /// <summary>Dataset name → folder of images on this silo, for dataset examples.</summary>
        public Dictionary<string, string> Datasets { get; set; } = [];

        /// <summary>A folder where each process appends a line per actual render to renders-{pid}.tsv (an audit trail; fault tests count renders with it).</summary>
        public string? JournalFolder { get; set; }
    }
}
