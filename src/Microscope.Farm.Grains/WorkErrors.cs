namespace Microscope.Farm.Grains;

/// <summary>How the worker treats an exception from a render.</summary>
public enum WorkErrorKind
{
    /// <summary>Try again, preferably on another silo.</summary>
    Retry,

    /// <summary>The request itself is wrong (unknown dataset, bad options): retrying cannot help.</summary>
    Permanent,

    /// <summary>The lens store is unreachable: hand the item back without counting an attempt and pause.</summary>
    StorageOutage,
}

/// <summary>Classifies render exceptions; the render engine and the lens store register their own types by name so this project depends on neither.</summary>
public static class WorkErrors
{
    private static readonly HashSet<string> Permanent = new(StringComparer.Ordinal)
    {
        nameof(FarmInputException), nameof(FarmNotFoundException), "RenderInputException", "ModelFormatException", "UnknownLayerException",
    };

    /// <summary>
    /// The lens store gave up after its retry budget, or grain storage (which has no budget of its
    /// own) could not reach its service: either way the service is away, not the work wrong.
    /// </summary>
    private static readonly HashSet<string> Outage = new(StringComparer.Ordinal) { "LensStoreUnavailableException", "RequestFailedException", "HttpRequestException", "SocketException" };

    public static WorkErrorKind Classify(Exception e)
    {
        for (var x = e; x is not null; x = x.InnerException)
        {
            var name = x.GetType().Name;
            if (Outage.Contains(name))
            {
                return WorkErrorKind.StorageOutage;
            }

            if (Permanent.Contains(name))
            {
                return WorkErrorKind.Permanent;
            }
        }

        return WorkErrorKind.Retry;
    }
}
