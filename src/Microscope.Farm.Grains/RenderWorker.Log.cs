using Microsoft.Extensions.Logging;

namespace Microscope.Farm.Grains;

/// <summary>The render worker's log lines (source-generated).</summary>
public sealed partial class RenderWorker
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Render worker {Worker} started: device {Device}, {Slots} slot(s), tags [{Tags}]")]
    internal static partial void LogStarted(ILogger logger, string worker, string device, int slots, string tags);

    [LoggerMessage(Level = LogLevel.Information, Message = "Render worker {Worker} is draining: it takes no more work; {Running} item(s) running")]
    internal static partial void LogDraining(ILogger logger, string worker, int running);

    [LoggerMessage(Level = LogLevel.Information, Message = "Render worker {Worker} is undrained: it takes work again")]
    internal static partial void LogUndrained(ILogger logger, string worker);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Render worker {Worker} could not report to the worker registry; trying again")]
    internal static partial void LogHeartbeatFailed(ILogger logger, Exception e, string worker);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Render worker {Worker} could not poll for work; trying again")]
    internal static partial void LogPollFailed(ILogger logger, Exception e, string worker);

    [LoggerMessage(Level = LogLevel.Information, Message = "Render worker {Worker} handed back {Count} lease(s) of job {Job}")]
    internal static partial void LogHandedBack(ILogger logger, string worker, int count, string job);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Render worker {Worker} could not hand back the leases of job {Job}; they will lapse")]
    internal static partial void LogHandBackFailed(ILogger logger, Exception e, string worker, string job);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Render worker {Worker}: the lens store is unavailable; handed back {Item} and pausing {Seconds} s: {Error}")]
    internal static partial void LogStorageOutage(ILogger logger, string worker, string item, double seconds, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Render worker {Worker}: {Item} failed ({Outcome})")]
    internal static partial void LogRenderFailed(ILogger logger, Exception e, string worker, string item, string outcome);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Render worker {Worker} could not report the outcome of {Item}; its lease will lapse")]
    internal static partial void LogReportFailed(ILogger logger, Exception e, string worker, string item);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Render worker {Worker} lost the lease of {Item}; stopping it")]
    internal static partial void LogLeaseLost(ILogger logger, string worker, string item);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Render worker {Worker} could not renew its leases of job {Job}")]
    internal static partial void LogRenewFailed(ILogger logger, Exception e, string worker, string job);
}
