using System.Globalization;
using Microscope.Testing;

namespace Microscope.Farm.FaultTests;

/// <summary>A storage service that refuses the SDK's API version stops the silo with one line naming the fix.</summary>
public sealed class StorageVersionTests
{
    [Fact]
    public async Task Azurite_without_skipApiVersionCheck_stops_the_silo_with_one_line_naming_the_flag()
    {
        await using var azurite = await Azurite.StartAsync(checkApiVersion: true);
        var folder = Path.Combine(Path.GetTempPath(), "microscope-version-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            using var silo = SiloProcess.Start("version", new Dictionary<string, string>
            {
                ["Farm__Http__Url"] = $"http://127.0.0.1:{Azurite.FreePort()}",
                ["Farm__Cluster__Clustering"] = "azure",
                ["Farm__Cluster__SiloPort"] = Azurite.FreePort().ToString(CultureInfo.InvariantCulture),
                ["Farm__Cluster__GatewayPort"] = Azurite.FreePort().ToString(CultureInfo.InvariantCulture),
                ["Farm__Store__Kind"] = "blob",
                ["Farm__Store__ConnectionString"] = azurite.ConnectionString,
                ["Farm__Store__Path"] = folder,
                ["Farm__Role"] = "render",
            });

            Assert.Equal(1, await silo.ExitCodeAsync(TimeSpan.FromMinutes(2)));
            Assert.Contains("--skipApiVersionCheck", silo.Output, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", silo.Output, StringComparison.Ordinal);
            Assert.Single(silo.Output.Split('\n'), l => l.Contains("API version", StringComparison.Ordinal));
        }
        finally
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }
}
