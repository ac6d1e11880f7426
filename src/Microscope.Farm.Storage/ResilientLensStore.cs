using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Azure;
using Microsoft.Extensions.Logging;

namespace Microscope.Farm.Storage;

/// <summary>How long and how often transient storage errors are retried.</summary>
public sealed record RetryPolicy
{
    /// <summary>The whole time one call may spend retrying before the store counts as unavailable.</summary>
    public TimeSpan Budget { get; init; } = TimeSpan.FromSeconds(30);

    public TimeSpan FirstDelay { get; init; } = TimeSpan.FromMilliseconds(100);

    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(5);
}

/// <summary>
/// Retries transient storage errors with exponential backoff and jitter for up to the policy's
/// budget, then throws <see cref="LensStoreUnavailableException"/> so that render workers hand their
/// work back and pause: an outage delays work, it never loses it. Errors that retrying cannot help
/// (a bad path, a quota) pass through at once.
/// </summary>
public sealed partial class ResilientLensStore(ILensStore inner, RetryPolicy policy, ILogger<ResilientLensStore> logger) : ILensStore
{
    public string Describe => inner.Describe;

    public Task<bool> PutIfAbsentAsync(string path, ReadOnlyMemory<byte> content, string contentType, CancellationToken cancellationToken = default) =>
        RetryAsync(() => inner.PutIfAbsentAsync(path, content, contentType, cancellationToken), "write", path, cancellationToken);

    public Task PutAsync(string path, ReadOnlyMemory<byte> content, string contentType, CancellationToken cancellationToken = default) =>
        RetryAsync(async () => { await inner.PutAsync(path, content, contentType, cancellationToken); return true; }, "write", path, cancellationToken);

    /// <summary>A stream can be read once: uploads are not retried here (the caller has the source).</summary>
    public async Task PutStreamAsync(string path, Stream content, string contentType, long? maxBytes, CancellationToken cancellationToken = default)
    {
        try
        {
            await inner.PutStreamAsync(path, content, contentType, maxBytes, cancellationToken);
        }
        catch (Exception e) when (IsTransient(e, cancellationToken))
        {
            throw new LensStoreUnavailableException($"the lens store ({inner.Describe}) failed during an upload of {path}: {e.Message}", e);
        }
    }

    public Task<StoredBlob?> GetAsync(string path, CancellationToken cancellationToken = default) =>
        RetryAsync(() => inner.GetAsync(path, cancellationToken), "read", path, cancellationToken);

    public Task<StoredStream?> OpenReadAsync(string path, long? offset = null, long? length = null, CancellationToken cancellationToken = default) =>
        RetryAsync(() => inner.OpenReadAsync(path, offset, length, cancellationToken), "read", path, cancellationToken);

    public Task<bool> ExistsAsync(string path, CancellationToken cancellationToken = default) =>
        RetryAsync(() => inner.ExistsAsync(path, cancellationToken), "read", path, cancellationToken);

    public async IAsyncEnumerable<string> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        // Listing is retried whole: a partial listing is never returned.
        var paths = await RetryAsync(async () =>
        {
            var all = new List<string>();
            await foreach (var path in inner.ListAsync(prefix, cancellationToken))
            {
                all.Add(path);
            }

            return all;
        }, "list", prefix, cancellationToken);
        foreach (var path in paths)
        {
            yield return path;
        }
    }

    public Task<bool> DeleteAsync(string path, CancellationToken cancellationToken = default) =>
        RetryAsync(() => inner.DeleteAsync(path, cancellationToken), "delete", path, cancellationToken);

    /// <summary>Whether an error is the store being away (network, timeouts, 5xx, throttling) rather than the request being wrong.</summary>
    public static bool IsTransient(Exception e, CancellationToken cancellationToken) => e switch
    {
        RequestFailedException r => r.Status is 0 or 408 or 429 or >= 500,
        HttpRequestException or SocketException or TimeoutException => true,
        OperationCanceledException => !cancellationToken.IsCancellationRequested,
        FileNotFoundException or DirectoryNotFoundException or PathTooLongException or UnauthorizedAccessException => false,
        IOException => true,
        AggregateException a => a.InnerExceptions.All(i => IsTransient(i, cancellationToken)),
        _ => e.InnerException is { } inner && IsTransient(inner, cancellationToken),
    };

    private async Task<T> RetryAsync<T>(Func<Task<T>> call, string what, string path, CancellationToken cancellationToken)
    {
        var started = DateTime.UtcNow;
        var delay = policy.FirstDelay;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await call();
            }
            catch (Exception e) when (IsTransient(e, cancellationToken))
            {
                var spent = DateTime.UtcNow - started;
                if (spent + delay > policy.Budget)
                {
                    LogUnavailable(logger, inner.Describe, what, path, attempt, spent.TotalSeconds, e.Message);
                    throw new LensStoreUnavailableException(
                        $"the lens store ({inner.Describe}) did not answer a {what} of {path} for {spent.TotalSeconds:F0} s ({attempt} attempts): {e.Message}", e);
                }

                if (attempt == 1)
                {
                    LogRetrying(logger, inner.Describe, what, path, e.Message);
                }

                await Task.Delay(delay + TimeSpan.FromMilliseconds(Random.Shared.Next((int)(delay.TotalMilliseconds / 2) + 1)), cancellationToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, policy.MaxDelay.Ticks));
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The lens store ({Store}) failed a {What} of {Path}; retrying with backoff: {Error}")]
    private static partial void LogRetrying(ILogger logger, string store, string what, string path, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "The lens store ({Store}) is unavailable: a {What} of {Path} failed {Attempts} times over {Seconds:F0} s: {Error}")]
    private static partial void LogUnavailable(ILogger logger, string store, string what, string path, int attempts, double seconds, string error);
}
