using System.Text.Json;
using Microscope.Testing;

namespace Microscope.Farm.Api.Tests;

/// <summary>
/// The api role needs no ML engine: Farm.Api reads and writes through grains and the lens store, and
/// model intake (the catalog's probe run) happens on render silos. Checked on the dependency graph
/// NuGet resolved for Farm.Api (every project and package it reaches, transitively).
/// </summary>
public sealed class ProjectGraphTests
{
    private static readonly string[] Forbidden = ["Microscope.Farm.Rendering", "Microscope.Lenses", "Microscope.Inference", "Microscope.Optvis", "Microsoft.ML.OnnxRuntime"];

    [Fact]
    public void Farm_api_has_no_path_to_the_ml_engine_or_onnx_runtime()
    {
        var reached = Reached("src/Microscope.Farm.Api/obj/project.assets.json");

        // The graph is read for real: it holds what Farm.Api does reference.
        Assert.Contains("Microscope.Farm.Abstractions", reached);
        Assert.Contains("Microscope.Organisms", reached);
        Assert.Contains("Microsoft.Orleans.Sdk", reached);
        var engine = reached.Where(r => Forbidden.Any(f => r.StartsWith(f, StringComparison.OrdinalIgnoreCase))).ToList();
        Assert.True(engine.Count == 0, "Farm.Api reaches " + string.Join(", ", engine));
    }

    [Fact]
    public void The_host_does_reach_the_engine_which_is_how_render_silos_catalog_and_render()
    {
        // The same reading of a project that must reach it: the check above would see the engine were it there.
        var reached = Reached("src/Microscope.Farm.Host/obj/project.assets.json");
        Assert.Contains("Microscope.Farm.Rendering", reached);
        Assert.Contains(reached, r => r.StartsWith("Microsoft.ML.OnnxRuntime", StringComparison.Ordinal));
    }

    /// <summary>Every library (project or package) in the project's resolved graph, by name.</summary>
    private static HashSet<string> Reached(string assets)
    {
        var path = Path.Combine(RepositoryRoot.Path, assets);
        Assert.True(File.Exists(path), $"{path} is missing: restore the solution first (dotnet restore)");
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        return document.RootElement.GetProperty("targets").EnumerateObject()
            .SelectMany(target => target.Value.EnumerateObject().Select(library => library.Name.Split('/')[0]))
            .ToHashSet(StringComparer.Ordinal);
    }
}
