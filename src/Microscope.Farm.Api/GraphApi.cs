using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Microscope.Farm.Api;

/// <summary>/api/models/{model}/graph: which layer feeds which, as the model's catalog found it.</summary>
public static class GraphApi
{
    /// <summary>The image's node id in every graph.</summary>
    public const string Input = "input";

    public static RouteGroupBuilder MapGraphApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/models").WithTags("models").RequireReadAccess();
        group.MapRead("/{model}/graph", GetAsync);
        return group;
    }

    /// <summary>A node: a layer, or the image (<see cref="Input"/>, op "Input"). <c>AffineInImage</c>: no nonlinearity between the image and the layer.</summary>
    public sealed record GraphNode(string Id, string Op, IReadOnlyList<int> Shape, int Units, bool AffineInImage);

    /// <summary>The layer graph of one version of a model: nodes in graph order (the image first), and edges "from feeds to".</summary>
    public sealed record ModelGraph(string Model, string Version, IReadOnlyList<GraphNode> Nodes, IReadOnlyList<LayerEdgeInfo> Edges);

    public static async Task<Ok<ModelGraph>> GetAsync(IGrainFactory grains, string model)
    {
        var info = await ModelsApi.ModelAsync(grains, model);
        var input = new GraphNode(Input, "Input", info.InputShape, info.InputShape.Count > 0 ? info.InputShape[0] : 3, true);
        return TypedResults.Ok(new ModelGraph(info.Id, info.Version,
            [input, .. info.Layers.Select(l => new GraphNode(l.Id, l.Op, l.Shape, l.Units, l.AffineInImage))], info.Edges));
    }
}
