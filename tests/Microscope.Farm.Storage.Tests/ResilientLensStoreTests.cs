using System.Runtime.CompilerServices;
using Azure;
using Microsoft.Extensions.Logging.Abstractions;

namespace Microscope.Farm.Storage.Tests;

public class ResilientLensStoreTests
{
    private static readonly RetryPolicy Quick = new() { Budget = TimeSpan.FromSeconds(2), FirstDelay = TimeSpan.FromMilliseconds(10), MaxDelay = TimeSpan.FromMilliseconds(50) };
    private const string Path = "models/m/00000000deadbeef/model.onnx";

    private static ResilientLensStore Over(ILensStore inner, RetryPolicy? policy = null) => new(inner, policy ?? Quick, NullLogger<ResilientLensStore>.Instance);

    [Fact]
    public async Task Transient_errors_are_retried_until_the_store_answers()
    {
        var flaky = new FlakyStore(failures: 3, () => new RequestFailedException(503, "server busy"));
        Assert.True(await Over(flaky).PutIfAbsentAsync(Path, new byte[] { 1 }, ContentTypes.Onnx));
        Assert.Equal(4, flaky.Calls);
    }

    [Fact]
    public async Task A_store_that_stays_away_is_reported_unavailable_after_the_budget()
    {
        var down = new FlakyStore(failures: int.MaxValue, () => new HttpRequestException("connection refused"));
        var started = DateTime.UtcNow;
        var error = await Assert.ThrowsAsync<LensStoreUnavailableException>(() => Over(down).GetAsync(Path));

        Assert.Contains("connection refused", error.Message);
        Assert.InRange(DateTime.UtcNow - started, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(4));
        Assert.True(down.Calls > 3);
    }

    [Fact]
    public async Task Errors_retrying_cannot_help_pass_through_at_once()
    {
        var forbidden = new FlakyStore(failures: int.MaxValue, () => new RequestFailedException(403, "forbidden"));
        await Assert.ThrowsAsync<RequestFailedException>(() => Over(forbidden).ExistsAsync(Path));
        Assert.Equal(1, forbidden.Calls);

        var bad = new FlakyStore(failures: int.MaxValue, () => new ArgumentException("bad path"));
        await Assert.ThrowsAsync<ArgumentException>(() => Over(bad).ExistsAsync(Path));
        Assert.Equal(1, bad.Calls);
    }

    [Fact]
    public async Task The_callers_cancellation_is_not_retried()
    {
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        var store = new FlakyStore(failures: int.MaxValue, () => new OperationCanceledException());
        await Assert.ThrowsAsync<OperationCanceledException>(() => Over(store).ExistsAsync(Path, cancelled.Token));
        Assert.Equal(1, store.Calls);
    }

    [Fact]
    public async Task An_azurite_outage_delays_a_write_and_loses_nothing()
    {
        await using var azurite = await Microscope.Testing.Azurite.StartAsync();
        var store = Over(BlobLensStore.Create(azurite.ConnectionString, "outage"), new RetryPolicy { Budget = TimeSpan.FromSeconds(120), MaxDelay = TimeSpan.FromSeconds(1) });
        azurite.Stop();

        var put = Task.Run(() => store.PutIfAbsentAsync(Path, new byte[] { 4, 2 }, ContentTypes.Onnx));
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.False(put.IsCompleted);
        await azurite.RestartAsync();

        Assert.True(await put);
        Assert.Equal(new byte[] { 4, 2 }, (await store.GetAsync(Path))!.Content.ToArray());
    }

    /// <summary>Fails the first calls with the given error, then answers as an empty store would.</summary>
    private sealed class FlakyStore(int failures, Func<Exception> error) : ILensStore
    {
        public int Calls { get; private set; }

        public string Describe => "flaky";

        public Task<bool> PutIfAbsentAsync(string path, ReadOnlyMemory<byte> content, string contentType, CancellationToken cancellationToken = default) => Answer(true);

        public Task PutAsync(string path, ReadOnlyMemory<byte> content, string contentType, CancellationToken cancellationToken = default) => Answer(true);

        public Task PutStreamAsync(string path, Stream content, string contentType, long? maxBytes, CancellationToken cancellationToken = default) => Answer(true);

        public Task<StoredBlob?> GetAsync(string path, CancellationToken cancellationToken = default) => Answer<StoredBlob?>(null);

        public Task<StoredStream?> OpenReadAsync(string path, long? offset = null, long? length = null, CancellationToken cancellationToken = default) => Answer<StoredStream?>(null);

        public Task<bool> ExistsAsync(string path, CancellationToken cancellationToken = default) => Answer(false);

        public async IAsyncEnumerable<string> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            await Answer(true);
            yield break;
        }

        public Task<bool> DeleteAsync(string path, CancellationToken cancellationToken = default) => Answer(false);

        private Task<T> Answer<T>(T value) => ++Calls <= failures ? Task.FromException<T>(error()) : Task.FromResult(value);
    }
}
