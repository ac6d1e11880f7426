using Microsoft.Extensions.Logging;

namespace Microscope.Testing;

/// <summary>Keeps every log line, to check what a user would read.</summary>
public class CapturingLogger : ILogger
{
    public List<(LogLevel Level, string Message)> Lines { get; } = [];

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (Lines)
        {
            Lines.Add((logLevel, formatter(state, exception)));
        }
    }
}

/// <summary>A <see cref="CapturingLogger"/> for a class that takes an <see cref="ILogger{T}"/>.</summary>
public sealed class CapturingLogger<T> : CapturingLogger, ILogger<T>;
