namespace Microscope.Farm.Grains;

/// <summary>Names of the grain storage providers the host must configure.</summary>
public static class FarmStorageNames
{
    /// <summary>Jobs and the job directory: what a job needs to resume after a whole-cluster restart.</summary>
    public const string Jobs = "jobs";

    /// <summary>Models, layers and units: the index of what is stored.</summary>
    public const string Index = "index";
}
