using System.CommandLine;
using System.Text.Json;
using Microscope.Inference;
using Microscope.Onnx;
using Microscope.Organisms;
using Spectre.Console;

namespace Microscope.Cli.Commands;

/// <summary>`microscope models list` and `microscope models inspect`.</summary>
internal static class ModelsCommand
{
    public static Command Create(CliContext context)
    {
        var models = new Command("models", "The model organisms, and any ONNX model given by path.");
        models.Subcommands.Add(List(context));
        models.Subcommands.Add(Inspect(context));
        return models;
    }

    private static Command List(CliContext context)
    {
        var command = new Command("list", "List the built-in model organisms.");
        command.SetAction(_ =>
        {
            var table = new Table().AddColumns("id", "title", "source");
            foreach (var manifest in OrganismRegistry.Default.BuiltIn())
            {
                table.AddRow(Markup.Escape(manifest.Id), Markup.Escape(manifest.Title), Markup.Escape(manifest.Source));
            }

            context.Console.Write(table);
            return CliApp.Ok;
        });
        return command;
    }

    private static Command Inspect(CliContext context)
    {
        var model = new Argument<string>("model") { Description = "An organism id (resnet18, ppocr-det, ppocr-cls) or the path of an .onnx file." };
        var json = new Option<bool>("--json") { Description = "Print the catalog as JSON." };
        var manifest = new Option<string?>("--manifest") { Description = "A manifest for a model given by path (default: <model>.manifest.json beside it, else inferred)." };
        var command = new Command("inspect", "List every layer that can be looked at: id, op, shape (C×H×W or K) and units.") { model, json, manifest };
        command.SetAction(parsed =>
        {
            var catalog = LocalModels.Load(parsed.GetValue(model)!, parsed.GetValue(manifest)).Catalog;
            if (parsed.GetValue(json))
            {
                context.Output.WriteLine(JsonSerializer.Serialize(catalog, ModelManifest.JsonOptions));
                return CliApp.Ok;
            }

            Print(context, catalog);
            return CliApp.Ok;
        });
        return command;
    }

    private static void Print(CliContext context, LayerCatalog catalog)
    {
        var console = context.Console;
        console.MarkupLine($"[bold]{Markup.Escape(catalog.Title)}[/] ({Markup.Escape(catalog.Model)})");
        console.MarkupLine($"[grey]{Markup.Escape(catalog.Source)}[/]");
        console.MarkupLine($"input {Markup.Escape(catalog.Input)}, {catalog.InputSize[0]}×{catalog.InputSize[1]} by default (any size works); {catalog.Layers.Count} layers, {catalog.TotalUnits} units");
        foreach (var assumption in catalog.Assumptions)
        {
            console.MarkupLine($"[yellow]assumed:[/] {Markup.Escape(assumption)}");
        }

        // The axes column shows how the model's own tensor holds the layer: N batch, C units, H×W
        // positions, T tokens, (T·N) tokens flattened into the batch. Shapes are always C×H×W or K.
        var table = new Table().AddColumns("#", "layer", "op", "shape", "units", "axes");
        table.Columns[0].RightAligned();
        table.Columns[4].RightAligned();
        var index = 0;
        foreach (var layer in catalog.Layers)
        {
            var axes = layer.Token is { } token ? $"{layer.Layout} token {token}" : layer.ExtraTokens > 0 ? $"{layer.Layout} +{layer.ExtraTokens} token" : layer.Layout;
            table.AddRow((index++).ToString(System.Globalization.CultureInfo.InvariantCulture), Markup.Escape(layer.Id), layer.Op, layer.ShapeText, layer.Units.ToString(System.Globalization.CultureInfo.InvariantCulture), Markup.Escape(axes));
        }

        console.Write(table);
        foreach (var group in catalog.Hidden)
        {
            console.MarkupLine($"[grey]hidden:[/] {Markup.Escape(group.Describe())}");
        }
    }
}
