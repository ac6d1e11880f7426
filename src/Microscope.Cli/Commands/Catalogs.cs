using Microscope.Farm.Rendering;
using Microscope.Inference;
using Microscope.Onnx;
using Microscope.Organisms;

namespace Microscope.Cli.Commands;

/// <summary>A model argument resolved, composed with its preprocessing, and its catalog built (on the CPU unless settings say otherwise), as render silos load a model.</summary>
internal static class LocalModels
{
    /// <summary>The version the CLI gives a model it loads from a file or the organism registry (render silos use the package's content hash).</summary>
    public const string Version = "local";

    /// <param name="settings">Device and render loop; a CUDA device whose libraries are missing falls back to CPU with one warning on stderr.</param>
    public static LoadedModel Load(string model, string? manifestPath, SessionSettings? settings = null, CliContext? context = null)
    {
        var manifest = OrganismRegistry.Default.Resolve(model, manifestPath);
        var sessions = new SessionFactory(settings ?? new SessionSettings(), context is null ? null : new WarningWriter(context.Error));
        return LoadedModel.Load(manifest.Id, Version, manifest, sessions);
    }
}

/// <summary>Writes ONNX Runtime's device warnings (a CUDA fallback) as one "warning:" line on stderr.</summary>
internal sealed class WarningWriter(TextWriter error) : Microsoft.Extensions.Logging.ILogger
{
    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => logLevel >= Microsoft.Extensions.Logging.LogLevel.Warning;

    public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (IsEnabled(logLevel))
        {
            error.WriteLine($"warning: {formatter(state, exception)}");
        }
    }
}
