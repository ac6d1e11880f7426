using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Microscope.Farm.Api;

/// <summary>/api/lenses: the lens registry (<see cref="FarmLenses"/>), which the web UI reads its lens names and descriptions from.</summary>
public static class LensesApi
{
    public static RouteGroupBuilder MapLensesApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/lenses").WithTags("lenses").RequireReadAccess();
        group.MapRead("/", List);
        return group;
    }

    /// <summary>
    /// A lens: its id (as in lens URLs), title and description, scope (<c>unit</c> or <c>layer</c>),
    /// whether it needs gradients or a dataset, the options it reads (the query names of a lens URL;
    /// the others do not change its picture), and the kinds of file it stores.
    /// </summary>
    public sealed record LensDescription(string Id, string Title, string Description, string Scope, bool NeedsGradients, bool NeedsDataset,
        IReadOnlyList<string> Options, IReadOnlyList<string> Files)
    {
        /// <summary>True for a lens only layers affine in the image have (<c>weights</c>); such a layer's <c>affineInImage</c> says so.</summary>
        public bool OnlyAffineInImage { get; init; }
    }

    /// <summary>Every lens, in the order the farm defines them.</summary>
    public static Ok<LensDescription[]> List() => TypedResults.Ok(FarmLenses.All.Select(Describe).ToArray());

    public static LensDescription Describe(LensKind lens) =>
        new(lens.Name, lens.Title, lens.Description, lens.Scope == LensScope.Layer ? "layer" : "unit", lens.NeedsGradients, lens.NeedsDataset, lens.Options, lens.Files)
        {
            OnlyAffineInImage = lens.OnlyAffineInImage,
        };
}
