using Microscope.Inference;
using Microscope.Organisms;

namespace Microscope.Cli.Commands;

/// <summary>Resolves a model argument and builds its catalog on the CPU.</summary>
internal static class Catalogs
{
    public static LayerCatalog Build(string model, string? manifestPath)
    {
        var manifest = OrganismRegistry.Default.Resolve(model, manifestPath);
        var vision = OrganismRegistry.Compose(manifest);
        return LayerCatalogBuilder.Build(manifest, vision, new SessionFactory(new SessionSettings()));
    }
}
