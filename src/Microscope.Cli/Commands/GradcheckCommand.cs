using System.CommandLine;
using System.Globalization;
using Microscope.Inference;
using Microscope.Onnx;
using Microscope.Onnx.Gradients;
using Spectre.Console;

namespace Microscope.Cli.Commands;

/// <summary>
/// `microscope gradcheck`: builds a layer's gradient graph and compares it with central finite
/// differences along random directions. Exit 0 below the tolerance, 1 above. Without --unit it
/// checks the unit the random image excites most, and says which: a unit inactive there (unit 0 of
/// many a ReLU layer) has a zero gradient and nothing to check.
/// </summary>
internal static class GradcheckCommand
{
    public static Command Create(CliContext context)
    {
        var model = new Argument<string>("model") { Description = "An organism id or the path of an .onnx file." };
        var layer = new Option<string>("--layer") { Description = "The layer id (see `microscope models inspect`).", Required = true };
        var unit = new Option<int?>("--unit") { Description = "The unit (channel) the objective is on; by default the layer's most active unit on the random image." };
        var objective = new Option<string>("--objective") { Description = "channel, neuron or deepdream.", DefaultValueFactory = _ => "channel" };
        objective.AcceptOnlyFromAmong("channel", "neuron", "deepdream");
        var size = new Option<int>("--size") { Description = "Image size in pixels (the built graph takes any size).", DefaultValueFactory = _ => 64 };
        var seed = new Option<int>("--seed") { Description = "Seed of the random image and directions.", DefaultValueFactory = _ => 1 };
        var directions = new Option<int>("--directions") { Description = "How many random directions to check.", DefaultValueFactory = _ => 4 };
        var tolerance = new Option<double>("--tolerance") { Description = "Largest relative error that passes (float32 arithmetic).", DefaultValueFactory = _ => 1e-2 };
        var epsilon = new Option<double?>("--epsilon") { Description = "One finite-difference step per pixel (images are in [0, 1]); by default the best of 1e-3, 1e-4, 1e-5 and 1e-6." };
        var manifest = new Option<string?>("--manifest") { Description = "A manifest for a model given by path." };
        var command = new Command("gradcheck", "Check a layer's built gradient against finite differences.")
        {
            model, layer, unit, objective, size, seed, directions, tolerance, epsilon, manifest,
        };
        command.SetAction(parsed => Run(
            context,
            parsed.GetValue(model)!,
            parsed.GetValue(manifest),
            parsed.GetValue(layer)!,
            parsed.GetValue(unit),
            parsed.GetValue(objective)!,
            SmokeRun.Cap(parsed.GetValue(size), 64),
            parsed.GetValue(seed),
            SmokeRun.Cap(parsed.GetValue(directions), 1),
            parsed.GetValue(tolerance),
            parsed.GetValue(epsilon)));
        return command;
    }

    private static int Run(CliContext context, string modelArgument, string? manifestPath, string layerId, int? askedUnit, string objectiveName, int size, int seed, int directions, double tolerance, double? epsilon)
    {
        SmokeRun.Announce(context);
        if (size < 8 || size > 4096)
        {
            throw new ModelFormatException($"--size {size} is out of range (8 to 4096 pixels).");
        }

        var (_, _, manifest, vision, catalog, sessions) = LocalModels.Load(modelArgument, manifestPath);
        var layer = catalog.Find(layerId);
        var (height, width) = (size, size);

        if (askedUnit is { } asked)
        {
            Ids.ParseUnit(asked.ToString(CultureInfo.InvariantCulture), layer.Id, layer.Units);
        }

        Objective For(int unit) => objectiveName switch
        {
            "neuron" => Objective.Neuron(unit),
            "deepdream" => Objective.DeepDream(),
            _ => Objective.Channel(unit),
        };

        var unitless = objectiveName == "deepdream";
        var terms = For(0).Terms;

        // Where the unit is to be chosen, the graph also outputs the layer's activations to choose by.
        var request = new GradientRequest(layer.Tensor, terms, IncludeActivations: askedUnit is null && !unitless);
        var model = GradientBuilder.Build(vision.Model, height, width, request, ShapeProbes.OnCpu(height, width), layer.Id);
        using var session = new GradientSession(model, sessions);

        var random = new Random(seed);
        var image = new double[3 * height * width];
        for (var i = 0; i < image.Length; i++)
        {
            image[i] = 0.25 + (0.5 * random.NextDouble());
        }

        var unit = askedUnit ?? 0;
        if (request.IncludeActivations)
        {
            var run = session.Run(image, 1, height, width, Objective.Parameters([For(0)], model.LayerShape, terms));
            (unit, var activity) = MostActive(run.Activations!, run.LayerShape, centre: objectiveName == "neuron");
            context.Console.MarkupLine(Markup.Escape(string.Create(CultureInfo.InvariantCulture,
                $"unit {unit}: the most active of the layer's {layer.Units} units on this image ({(objectiveName == "neuron" ? "centre" : "mean")} activation {activity:G4}); choose another with --unit.")));
        }

        var chosen = For(unit);
        var parameters = Objective.Parameters([chosen], model.LayerShape, chosen.Terms);

        var result = GradientCheck.Run(session, image, 1, height, width, parameters, directions, epsilon is { } step ? [step] : null, seed);
        var table = new Table().AddColumns("direction", "analytic", "finite difference", "step", "relative error");
        var index = 0;
        foreach (var check in result.Directions)
        {
            table.AddRow(
                (index++).ToString(CultureInfo.InvariantCulture),
                check.Analytic.ToString("G6", CultureInfo.InvariantCulture),
                check.Numeric.ToString("G6", CultureInfo.InvariantCulture),
                check.Epsilon.ToString("G1", CultureInfo.InvariantCulture),
                check.RelativeError.ToString("E2", CultureInfo.InvariantCulture));
        }

        context.Console.MarkupLine($"{Markup.Escape(manifest.Id)} / {Markup.Escape(layer.Id)} ({layer.Op}, {layer.ShapeText}), {Markup.Escape(chosen.Description)}, {height}×{width}, {model.ForwardNodes.Count} forward nodes, {model.Model.Graph.Node.Count} nodes in all");
        context.Console.Write(table);
        if (result.Vacuous)
        {
            context.Error.WriteLine(unitless
                ? $"layer '{layer.Id}' is inactive on this image (zero gradient): nothing was checked; try another --seed."
                : $"unit {unit} of layer '{layer.Id}' is inactive on this image (zero gradient): nothing was checked; try another unit or --seed.");
            context.Output.WriteLine("max relative error: NaN");
            return CliApp.CheckFailed;
        }

        var max = result.MaxRelativeError;
        context.Output.WriteLine($"max relative error: {max.ToString("E3", CultureInfo.InvariantCulture)}");
        return max <= tolerance ? CliApp.Ok : CliApp.CheckFailed;
    }

    /// <summary>
    /// The unit with the largest objective on one image's activations (C×H×W, or K): the channel's
    /// mean, or its value at the centre position (⌊H/2⌋, ⌊W/2⌋) for the neuron objective.
    /// </summary>
    private static (int Unit, double Activity) MostActive(double[] activations, long[] shape, bool centre)
    {
        var units = (int)shape[0];
        var perUnit = activations.Length / units;
        var centreOffset = shape.Length == 3 ? ((int)(shape[1] / 2) * (int)shape[2]) + (int)(shape[2] / 2) : 0;
        var best = (Unit: 0, Activity: double.NegativeInfinity);
        for (var u = 0; u < units; u++)
        {
            var values = activations.AsSpan(u * perUnit, perUnit);
            var activity = centre ? values[centreOffset] : Mean(values);
            if (activity > best.Activity)
            {
                best = (u, activity);
            }
        }

        return best;
    }

    private static double Mean(ReadOnlySpan<double> values)
    {
        var sum = 0.0;
        foreach (var v in values)
        {
            sum += v;
        }

        return sum / values.Length;
    }
}
