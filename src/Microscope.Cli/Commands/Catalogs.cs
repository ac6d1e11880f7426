using Microscope.Inference;
using Microscope.Onnx;
using Microscope.Organisms;

namespace Microscope.Cli.Commands;

/// <summary>A model argument resolved, composed with its preprocessing, and its catalog built (on the CPU).</summary>
internal sealed record LoadedModel(ModelManifest Manifest, VisionGraph Vision, LayerCatalog Catalog, SessionFactory Sessions)
{
    public static LoadedModel Load(string model, string? manifestPath)
    {
        var manifest = OrganismRegistry.Default.Resolve(model, manifestPath);
        var vision = OrganismRegistry.Compose(manifest);
        var sessions = new SessionFactory(new SessionSettings());
        return new LoadedModel(manifest, vision, LayerCatalogBuilder.Build(manifest, vision, sessions), sessions);
    }
}
