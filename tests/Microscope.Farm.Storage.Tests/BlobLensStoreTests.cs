namespace Microscope.Farm.Storage.Tests;

/// <summary>The contract against Azurite; every test gets its own container.</summary>
public sealed class BlobLensStoreTests(AzuriteFixture azurite) : LensStoreContract, IClassFixture<AzuriteFixture>
{
    private readonly string container = "lenses-" + Guid.NewGuid().ToString("N")[..12];
    private ILensStore? store;

    protected override ILensStore Store => store ??= BlobLensStore.Create(azurite.ConnectionString, container);

    [Fact]
    public void Describe_names_the_container() => Assert.Matches($"^azure blob https?://.+/{container}$", Store.Describe);
}

/// <summary>
/// Azurite for the blob store's contract tests: the one named by MICROSCOPE_AZURITE (a connection
/// string, as test.sh or CI may provide), otherwise a private one started here and stopped after.
/// The outage test never uses this: it stops its Azurite, which must not be anyone else's.
/// </summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    private Microscope.Testing.Azurite? own;

    public string ConnectionString { get; private set; } = "";

    public async Task InitializeAsync()
    {
        if (Environment.GetEnvironmentVariable("MICROSCOPE_AZURITE") is { Length: > 0 } shared)
        {
            ConnectionString = shared;
            return;
        }

        own = await Microscope.Testing.Azurite.StartAsync();
        ConnectionString = own.ConnectionString;
    }

    public async Task DisposeAsync()
    {
        if (own is not null)
        {
            await own.DisposeAsync();
        }
    }
}
