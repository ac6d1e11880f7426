using System.Net;
using Microscope.Farm.Grains;
using Orleans.Configuration;
using Orleans.Runtime.Hosting;
using Orleans.Serialization;
using Orleans.Storage;

namespace Microscope.Farm.Host;

/// <summary>
/// Clustering and grain storage by configuration: localhost clustering and grain state in files for
/// the embedded default; Azure Table clustering and blob grain state (Azurite locally) for several
/// processes; Kubernetes hosting on top of that in a cluster.
/// </summary>
internal static class ClusterSetup
{
    public static ISiloBuilder ConfigureFarmCluster(this ISiloBuilder silo, FarmHostOptions farm)
    {
        var cluster = farm.Cluster;
        silo.Configure<ClusterOptions>(o =>
        {
            o.ServiceId = cluster.ServiceId;
            o.ClusterId = cluster.ClusterId;
        });

        if (cluster.Clustering == "localhost")
        {
            var primary = cluster.PrimarySiloPort is { } port ? new IPEndPoint(IPAddress.Loopback, port) : null;
            silo.UseLocalhostClustering(cluster.SiloPort, cluster.GatewayPort, primary, cluster.ServiceId, cluster.ClusterId);
        }
        else
        {
            silo.UseAzureStorageClustering(o => o.TableServiceClient = AzureStorage.Tables(farm.Store));
            if (cluster.Clustering == "kubernetes")
            {
                silo.UseKubernetesHosting();
            }
            else
            {
                silo.ConfigureEndpoints(IPAddress.Parse(cluster.AdvertisedAddress), cluster.SiloPort, cluster.GatewayPort, listenOnAnyHostAddress: false);
            }
        }

        foreach (var name in new[] { FarmStorageNames.Jobs, FarmStorageNames.Index })
        {
            if (farm.Store.Kind == "blob")
            {
                silo.AddAzureBlobGrainStorage(name, options => options.Configure<Serializer>((o, serializer) =>
                {
                    o.BlobServiceClient = AzureStorage.Blobs(farm.Store);
                    o.ContainerName = $"grains-{name}";
                    o.GrainStorageSerializer = new OrleansGrainStorageSerializer(serializer);
                }));
            }
            else
            {
                var root = Path.Combine(Path.GetFullPath(farm.Store.Path), "grains");
                silo.Services.AddGrainStorage(name, (sp, n) => new FileGrainStorage(n, root, sp.GetRequiredService<Serializer>()));
            }
        }

        return silo;
    }
}
