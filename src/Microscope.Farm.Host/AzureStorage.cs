using Azure.Data.Tables;
using Azure.Identity;
using Azure.Storage.Blobs;
using Microscope.Farm.Storage;

namespace Microscope.Farm.Host;

/// <summary>
/// The Azure Storage clients of the farm (lens store, grain state, clustering) from one place: a
/// connection string (keys; Azurite locally), or the service URIs with Microsoft Entra ID through
/// DefaultAzureCredential (in Kubernetes, workload identity: AZURE_CLIENT_ID, AZURE_TENANT_ID and
/// AZURE_FEDERATED_TOKEN_FILE set by the webhook; elsewhere a managed identity or a developer login).
/// </summary>
internal static class AzureStorage
{
    private static readonly Lazy<DefaultAzureCredential> Credential = new(() => new DefaultAzureCredential());

    public static BlobServiceClient Blobs(FarmHostOptions.StoreOptions store) =>
        !string.IsNullOrWhiteSpace(store.ConnectionString) ? new BlobServiceClient(store.ConnectionString, BlobLensStore.ClientOptions())
        : new BlobServiceClient(Uri(store.BlobServiceUri, "Farm:Store:BlobServiceUri"), Credential.Value, BlobLensStore.ClientOptions());

    public static TableServiceClient Tables(FarmHostOptions.StoreOptions store) =>
        !string.IsNullOrWhiteSpace(store.ConnectionString) ? new TableServiceClient(store.ConnectionString)
        : new TableServiceClient(Uri(store.TableServiceUri, "Farm:Store:TableServiceUri"), Credential.Value);

    /// <summary>
    /// The storage service's refusal of the API version the Azure SDK speaks (Azurite older than the
    /// SDK, unless started with --skipApiVersionCheck), found anywhere in an exception's chain; null otherwise.
    /// </summary>
    public static string? ApiVersionRefusal(Exception? error)
    {
        for (var e = error; e is not null; e = e.InnerException)
        {
            if (e is Azure.RequestFailedException refused && refused.Message.Contains("API version", StringComparison.OrdinalIgnoreCase))
            {
                return refused.Message.Split('\n', '.')[0].Trim();
            }

            if (e is AggregateException { InnerExceptions.Count: > 1 } several)
            {
                return several.InnerExceptions.Select(ApiVersionRefusal).FirstOrDefault(m => m is not null);
            }
        }

        return null;
    }

    private static Uri Uri(string? value, string setting) =>
        System.Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme is "https" or "http" ? uri
        : throw new ArgumentException($"{setting} must be the storage account's service URL (https://<account>.blob.core.windows.net/ or .table.), or set Farm:Store:ConnectionString.");
}
