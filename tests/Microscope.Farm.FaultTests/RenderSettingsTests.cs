using System.Globalization;
using Microscope.Testing;

namespace Microscope.Farm.FaultTests;

/// <summary>A render silo refuses pass-sizing settings it cannot use before it joins a cluster, naming the setting.</summary>
public sealed class RenderSettingsTests
{
    [Theory]
    [InlineData("Farm__Render__MemoryHeadroom", "1.5", "Farm:Render:MemoryHeadroom must be a fraction above 0 and at most 1")]
    [InlineData("Farm__Render__MaxBatch", "0", "Farm:Render:MaxBatch must be at least 1")]
    [InlineData("Farm__Render__CudaMemoryMegabytes", "-1", "Farm:Render:CudaMemoryMegabytes must be 0 (no limit)")]
    [InlineData("Farm__Render__Loop", "gpu", "Farm:Render:Loop must be auto, host or device, not 'gpu'")]
    public async Task A_bad_render_setting_stops_the_silo_with_the_setting_named(string variable, string value, string message)
    {
        var folder = Path.Combine(Path.GetTempPath(), "microscope-settings-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            using var silo = SiloProcess.Start("settings", new Dictionary<string, string>
            {
                ["Farm__Http__Url"] = $"http://127.0.0.1:{Azurite.FreePort()}",
                ["Farm__Cluster__SiloPort"] = Azurite.FreePort().ToString(CultureInfo.InvariantCulture),
                ["Farm__Cluster__GatewayPort"] = Azurite.FreePort().ToString(CultureInfo.InvariantCulture),
                ["Farm__Store__Path"] = folder,
                ["Farm__Role"] = "render",
                [variable] = value,
            });

            Assert.NotEqual(0, await silo.ExitCodeAsync(TimeSpan.FromMinutes(1)));
            Assert.Contains(message, silo.Output, StringComparison.Ordinal);
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
