using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Microscope.Farm;
using Microscope.Farm.Rendering;
using Microscope.Inference;
using Microscope.Lenses;
using Microscope.Lenses.DatasetExamples;
using Microscope.Lenses.Tuning;
using Microscope.Onnx;
using Microscope.Optvis;
using Microscope.Optvis.Transforms;
using Spectre.Console;

namespace Microscope.Cli.Commands;

/// <summary>`microscope render`: feature visualizations of units, written as PNGs with their figures.</summary>
internal static class RenderCommand
{
    public static Command Create(CliContext context)
    {
        var model = new Argument<string>("model") { Description = "An organism id or the path of an .onnx file." };
        var layer = new Option<string?>("--layer") { Description = "The layer id (see `microscope models inspect`); for dataset-examples, `all` for every layer of the model (one pass over the images)." };
        var layers = new Option<string?>("--layers") { Description = "Several layer ids, comma-separated, for dataset-examples: one pass over the images for all of them." };
        var unit = new Option<int?>("--unit") { Description = "One unit." };
        var units = new Option<string?>("--units") { Description = "Units as a range or list: 0-31, or 3,5,8." };
        var lens = new Option<string>("--lens")
        {
            Description = "The lens: " + string.Join("; ", FarmLenses.All.Select(l => $"{l.Name} ({(l.Scope == LensScope.Layer ? "the layer" : "units")}): {l.Description.TrimEnd('.')}")) + ".",
            DefaultValueFactory = _ => FarmLenses.FeatureVis.Name,
        };
        lens.AcceptOnlyFromAmong([.. FarmLenses.All.Select(l => l.Name)]);
        var family = new Option<string>("--family") { Description = "Stimulus family for tuning: lines, edges, curves, gratings or hue.", DefaultValueFactory = _ => LensOptions.Default.Family };
        family.AcceptOnlyFromAmong([.. StimulusFamily.Names]);
        var dataset = new Option<string?>("--dataset") { Description = "Folder of images (searched recursively) for dataset-examples." };
        var top = new Option<int>("--top") { Description = "How many top and bottom images dataset-examples keeps per unit.", DefaultValueFactory = _ => LensOptions.Default.Top };
        var steps = new Option<int?>("--steps") { Description = "Optimization steps: 512 by default (OpenAI Microscope used 4096); for deepdream, steps per octave (20)." };
        var image = new Option<string?>("--image") { Description = "Seed image for deepdream and caricature (JPEG, PNG, WebP); default: a built-in drawing." };
        var size = new Option<int>("--size") { Description = "Image size in pixels.", DefaultValueFactory = _ => LensOptions.Default.Size };
        var batch = new Option<int>("--batch")
        {
            Description = "Units rendered together in one pass (images per unit for diversity; images per forward pass for dataset-examples), or auto: as many units as fit the device's free memory, as render silos size their passes (4 images per unit for diversity, 16 for dataset-examples). A unit's picture is the same in any pass.",
            DefaultValueFactory = _ => 8,
            CustomParser = ParseBatch,
        };
        var seed = new Option<int>("--seed") { Description = "Seed of the initial image and the transforms.", DefaultValueFactory = _ => LensOptions.Default.Seed };
        var pixels = new Option<bool>("--pixels") { Description = "Optimize plain pixels instead of the Fourier parameterization." };
        var noTransforms = new Option<bool>("--no-transforms") { Description = "Switch off transformation robustness." };
        var noReluRedirect = new Option<bool>("--no-relu-redirect") { Description = "Climb the true gradient from the first step (by default feature visualization climbs Lucid's redirected ReLU gradient for 16 steps, so that units the start image leaves dead still render)." };
        var output = new Option<string>("--out") { Description = "Folder to write the images to.", Required = true };
        var manifest = new Option<string?>("--manifest") { Description = "A manifest for a model given by path." };
        var device = new Option<string>("--device") { Description = "Where ONNX Runtime runs: cpu or cuda:N. Without the CUDA 13 and cuDNN 9 libraries, one warning names the missing one and the render runs on CPU.", DefaultValueFactory = _ => "cpu" };
        var loop = new Option<RenderLoop>("--loop") { Description = "Where feature visualization keeps its image, gradients and optimizer state between steps: auto (device under CUDA, host on CPU), host or device.", DefaultValueFactory = _ => RenderLoop.Auto };
        var command = new Command("render", "Render lenses of units: feature visualizations as PNG images.")
        {
            model, layer, layers, unit, units, lens, steps, size, batch, seed, pixels, noTransforms, noReluRedirect, image, dataset, top, family, output, manifest, device, loop,
        };
        command.SetAction(parsed =>
        {
            SmokeRun.Announce(context);
            var options = new RenderOptions
            {
                Steps = SmokeRun.Cap(parsed.GetValue(steps) ?? (FarmLenses.Get(parsed.GetValue(lens)!) == FarmLenses.DeepDream ? new DreamOptions().StepsPerOctave : LensOptions.Default.Steps), 2),
                Size = SmokeRun.Cap(parsed.GetValue(size), 64),
                Seed = parsed.GetValue(seed),
                Fourier = !parsed.GetValue(pixels),
                Transforms = parsed.GetValue(noTransforms) ? TransformPipeline.None : null,
                ReluRedirect = !parsed.GetValue(noReluRedirect),
            };
            var chosenLens = FarmLenses.Get(parsed.GetValue(lens)!);
            var settings = new SessionSettings { Device = ExecutionDevice.Parse(parsed.GetValue(device)!), Loop = parsed.GetValue(loop) };
            if (chosenLens == FarmLenses.DatasetExamples)
            {
                return RunDatasetExamples(context, settings, parsed.GetValue(model)!, parsed.GetValue(manifest), LayersAsked(parsed.GetValue(layer), parsed.GetValue(layers)), parsed.GetValue(unit), SmokeRun.Units(parsed.GetValue(units)), parsed.GetValue(dataset), SmokeRun.Cap(parsed.GetValue(top), 4), parsed.GetValue(batch) is var b && b == AutoBatch ? new RenderEngineOptions().ScanBatch : b, parsed.GetValue(output)!);
            }

            if (parsed.GetValue(layers) is not null || parsed.GetValue(layer) is "all")
            {
                throw new ModelFormatException($"--layers and --layer all are for dataset-examples, which scans the images once for every layer; render {chosenLens.Name} one layer at a time with --layer ID.");
            }

            if (parsed.GetValue(layer) is null)
            {
                throw new ModelFormatException("--layer is required: a layer id (see `microscope models inspect`).");
            }

            if (chosenLens == FarmLenses.Tuning)
            {
                return RunTuning(context, settings, parsed.GetValue(model)!, parsed.GetValue(manifest), parsed.GetValue(layer)!, parsed.GetValue(unit), SmokeRun.Units(parsed.GetValue(units)), parsed.GetValue(family)!, parsed.GetValue(output)!);
            }

            return chosenLens.Scope == LensScope.Layer
                ? RunLayerLens(context, settings, parsed.GetValue(model)!, parsed.GetValue(manifest), parsed.GetValue(layer)!, chosenLens, options, parsed.GetValue(image), parsed.GetValue(output)!)
                : Run(context, settings, parsed.GetValue(model)!, parsed.GetValue(manifest), parsed.GetValue(layer)!, parsed.GetValue(unit), SmokeRun.Units(parsed.GetValue(units)), chosenLens.Name, LensRenderers.FeatureObjectiveOf(chosenLens)!, options, parsed.GetValue(batch) is var n && n == AutoBatch ? n : SmokeRun.Cap(n, 2), parsed.GetValue(output)!);
        });
        return command;
    }

    private static int Run(CliContext context, SessionSettings settings, string modelArgument, string? manifestPath, string layerId, int? unit, string? unitList, string lens, FeatureObjective objective, RenderOptions options, int batch, string output)
    {
        Validate(options, batch);
        var (_, _, manifest, vision, catalog, sessions) = LocalModels.Load(modelArgument, manifestPath, settings, context);
        var layer = catalog.Find(layerId);
        var chosen = ParseUnits(unit, unitList, layer);
        var folder = Path.Combine(output, manifest.Id, layer.Id);
        Directory.CreateDirectory(folder);

        // auto: the farm's sizing, for one slot on this device; otherwise the fixed pass size asked for.
        var diversity = objective.Diversity;
        var sizer = batch == AutoBatch ? new BatchSizer(DeviceMemory.Default, sessions.Settings, new BatchSizing()) : null;
        var requested = batch == AutoBatch ? (diversity ? LensOptions.Default.DiversityImages : chosen.Count) : batch;
        int ImagesPerPass(RenderMemory estimate)
        {
            if (sizer is null)
            {
                return requested;
            }

            var plan = sizer.Plan(estimate, requested, splittable: !diversity);
            context.Console.MarkupLine(Markup.Escape($"passes: {plan}"));
            return plan.ImagesPerPass;
        }

        IReadOnlyList<UnitRender> renders = [];
        WithProgress(context, $"{Markup.Escape(manifest.Id)}/{Markup.Escape(layer.Id)} {lens}", 1, task =>
        {
            renders = FeatureVisualization.Render(vision, layer, chosen, objective, options, ImagesPerPass, sessions, new Reporter(done =>
            {
                task.MaxValue = done.Total;
                task.Value = done.Done;
                task.Description = $"{Markup.Escape(manifest.Id)}/{Markup.Escape(layer.Id)} {lens}, objective {done.MeanObjective.ToString("F2", CultureInfo.InvariantCulture)}";
            }));
        });

        // Where this layer's dataset examples were written before, each render is compared with its
        // unit's top example: the unit's spatial maximum on the render over its maximum there.
        var figures = ImageFigures.Of(renders, vision, layer, options.Size, sessions);
        var table = new Table().AddColumns("unit", "image", "objective before", "objective after", $"after, {Renderer.RobustnessDraws} random transforms", "vs top dataset example", "file");
        foreach (var (render, index) in renders.Select((r, i) => (r, i)))
        {
            var ratio = TopExampleActivation(folder, render.Unit) is { } top && top > 0 ? figures[index].SpatialMaximum / top : (double?)null;
            var name = diversity ? $"{render.Unit}-{lens}-{render.Index}" : $"{render.Unit}-{lens}";
            var path = Path.Combine(folder, name + ".png");
            WriteAtomically(path, render.ToPng());
            WriteAtomically(Path.Combine(folder, name + ".json"), JsonSerializer.SerializeToUtf8Bytes(new
            {
                model = manifest.Id,
                layer = layer.Id,
                unit = render.Unit,
                lens,
                index = render.Index,
                figures[index].ObjectiveBefore,
                figures[index].ObjectiveAfter,
                figures[index].ObjectiveUnderTransforms,
                transformDraws = Renderer.RobustnessDraws,
                figures[index].SpatialMaximum,
                ratioToTopDatasetExample = ratio,
                options = new { options.Steps, options.Size, options.Seed, options.Fourier, options.LearningRate, options.ReluRedirect, transforms = options.Transforms is null ? "standard" : "none", batch = batch == AutoBatch ? "auto" : (object)batch },
            }, ModelManifest.JsonOptions));
            table.AddRow(render.Unit.ToString(CultureInfo.InvariantCulture), render.Index.ToString(CultureInfo.InvariantCulture),
                render.StartObjective.ToString("F3", CultureInfo.InvariantCulture), render.FinalObjective.ToString("F3", CultureInfo.InvariantCulture),
                render.RobustObjective.ToString("F3", CultureInfo.InvariantCulture), ratio?.ToString("F2", CultureInfo.InvariantCulture) ?? "-", Markup.Escape(path));
        }

        context.Console.Write(table);
        if (renders.Count > 1)
        {
            var sheet = Path.Combine(folder, $"{lens}-sheet.png");
            WriteAtomically(sheet, Png.Sheet([.. renders.Select(r => r.Image)], options.Size, options.Size, Math.Min(8, renders.Count)));
            context.Console.MarkupLine($"contact sheet: {Markup.Escape(sheet)}");
        }

        return CliApp.Ok;
    }

    private static int RunLayerLens(CliContext context, SessionSettings settings, string modelArgument, string? manifestPath, string layerId, LensKind kind, RenderOptions options, string? seedPath, string output)
    {
        var lens = kind.Name;
        Validate(options, 1);
        var (_, _, manifest, vision, catalog, sessions) = LocalModels.Load(modelArgument, manifestPath, settings, context);
        var layer = catalog.Find(layerId);
        var size = Math.Max(options.Size, vision.Spec.RenderSize ?? 0);
        var seed = seedPath is null ? null : SeedImages.Load(seedPath, size);
        var folder = Path.Combine(output, manifest.Id, layer.Id);
        Directory.CreateDirectory(folder);

        float[] picture = [];
        var pictureSize = size;
        WithProgress(context, $"{Markup.Escape(manifest.Id)}/{Markup.Escape(layer.Id)} {lens}", 1, task =>
        {
            var reporter = new StepReporter(p =>
            {
                task.MaxValue = p.Steps;
                task.Value = p.Step;
            });
            if (kind == FarmLenses.DeepDream)
            {
                picture = LayerLenses.DeepDream(vision, layer, seed, size, new DreamOptions { StepsPerOctave = options.Steps, Seed = options.Seed }, sessions, reporter);
            }
            else
            {
                picture = LayerLenses.Caricature(vision, layer, seedPath, options, sessions, reporter).Images;
                pictureSize = options.Size;
            }
        });

        var path = Path.Combine(folder, $"{lens}.png");
        WriteAtomically(path, Png.Encode(picture, pictureSize, pictureSize));
        WriteAtomically(Path.Combine(folder, $"{lens}.json"), JsonSerializer.SerializeToUtf8Bytes(new
        {
            model = manifest.Id,
            layer = layer.Id,
            lens,
            seedImage = seedPath is null ? "built-in" : Path.GetFullPath(seedPath),
            imageSize = pictureSize,
            options = lens == "deepdream"
                ? (object)new { stepsPerOctave = options.Steps, options.Seed, size }
                : new { options.Steps, options.Size, options.Seed, options.Fourier, options.LearningRate, transforms = options.Transforms is null ? "standard" : "none" },
        }, ModelManifest.JsonOptions));
        context.Console.MarkupLine($"{lens} of {Markup.Escape(manifest.Id)}/{Markup.Escape(layer.Id)} from {(seedPath is null ? "the built-in seed image" : Markup.Escape(seedPath))}: {Markup.Escape(path)}");
        return CliApp.Ok;
    }

    /// <summary>The layers dataset-examples scans: the ids of --layers, every layer for --layer all (null), or the one --layer.</summary>
    private static IReadOnlyList<string>? LayersAsked(string? layer, string? layers) => (layer, layers) switch
    {
        (not null, not null) => throw new ModelFormatException("give --layer or --layers, not both."),
        (null, null) => throw new ModelFormatException("--layer is required: a layer id (see `microscope models inspect`), or all; or --layers a,b."),
        ("all", _) => null,
        (not null, _) => [layer!],
        (_, not null) => layers!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) is { Length: > 0 } ids
            ? ids.Distinct(StringComparer.Ordinal).ToList()
            : throw new ModelFormatException("--layers names no layer: give ids separated by commas."),
    };

    private static int RunDatasetExamples(CliContext context, SessionSettings settings, string modelArgument, string? manifestPath, IReadOnlyList<string>? layerIds, int? unit, string? unitList, string? dataset, int top, int batch, string output)
    {
        if (dataset is null)
        {
            throw new ModelFormatException("dataset-examples needs --dataset DIR, a folder of images.");
        }

        if (top is < 1 or > 1000)
        {
            throw new ModelFormatException("--top must be 1 to 1000.");
        }

        var (_, _, manifest, vision, catalog, sessions) = LocalModels.Load(modelArgument, manifestPath, settings, context);
        IReadOnlyList<Layer> layers = layerIds is null ? catalog.Layers : [.. layerIds.Select(catalog.Find)];
        var several = layers.Count > 1;

        // One layer: the units asked must be its units. Several: each layer renders those it has.
        var chosen = layers.ToDictionary(l => l, l =>
            unit is null && string.IsNullOrWhiteSpace(unitList) ? [.. Enumerable.Range(0, l.Units)]
            : several ? ParseUnits(unit, unitList, layers.MaxBy(x => x.Units)!).Where(u => u < l.Units).ToList()
            : ParseUnits(unit, unitList, l));
        var files = DatasetScanner.Files(dataset);
        var size = vision.Spec.ForwardSize;
        DatasetScan scan = null!;
        var what = several ? $"{layers.Count} layers" : Markup.Escape(layers[0].Id);
        WithProgress(context, $"{Markup.Escape(manifest.Id)}/{what} dataset examples, {files.Count} images", Math.Max(1, files.Count), task =>
        {
            scan = DatasetScanner.Scan(vision, layers, dataset, files, size, top, batch, sessions, new ScanReporter(p => task.Value = p.Done));
        });

        // Every example image is decoded once for all the units of all the layers.
        var images = ExampleImages.InFolder(dataset, size);
        var table = new Table().AddColumns("layer", "unit", "top image", "activation", "mean", "std");
        foreach (var examples in scan.Layers)
        {
            var layer = examples.Layer;
            var folder = Path.Combine(output, manifest.Id, layer.Id);
            Directory.CreateDirectory(folder);
            var units = chosen[layer];
            var mosaics = Mosaic.RenderAll(images, [.. units.Select(u => examples.Units[u].Top)], examples.Field);
            foreach (var (u, i) in units.Select((u, i) => (u, i)))
            {
                var unitExamples = examples.Units[u];
                WriteAtomically(Path.Combine(folder, $"{u}-dataset-examples.json"),
                    JsonSerializer.SerializeToUtf8Bytes(ExamplesDocument.Create(manifest.Id, layer.Id, u, unitExamples, examples.Field), ModelManifest.JsonOptions));
                if (unitExamples.Top.Count > 0)
                {
                    WriteAtomically(Path.Combine(folder, $"{u}-dataset-examples.png"), mosaics[i]);
                }
            }

            // The layer's statistics, every unit, for tuning curves and quality figures to read.
            WriteAtomically(Path.Combine(folder, "dataset-examples-statistics.json"), JsonSerializer.SerializeToUtf8Bytes(
                LayerStatistics.Create(manifest.Id, layer.Id, scan.Images, scan.Skipped, examples.Units), ModelManifest.JsonOptions));
            foreach (var u in units.Take(several ? 3 : 20))
            {
                var best = examples.Units[u].Top.FirstOrDefault();
                table.AddRow(Markup.Escape(layer.Id), u.ToString(CultureInfo.InvariantCulture), Markup.Escape(best?.Image ?? "-"), best?.Activation.ToString("F3", CultureInfo.InvariantCulture) ?? "-",
                    examples.Units[u].Mean.ToString("F3", CultureInfo.InvariantCulture), examples.Units[u].StandardDeviation.ToString("F3", CultureInfo.InvariantCulture));
            }
        }

        context.Console.Write(table);
        var written = several ? Path.Combine(output, manifest.Id) + $" ({layers.Count} layers, {images.Decodes} example images decoded for the mosaics)" : Path.Combine(output, manifest.Id, layers[0].Id);
        context.Console.MarkupLine($"{scan.Images} images scanned, {scan.Skipped.Count} skipped (unreadable){(scan.Skipped.Count > 0 ? ": " + Markup.Escape(string.Join(", ", scan.Skipped.Take(5))) : "")}; written to {Markup.Escape(written)}");
        return CliApp.Ok;
    }

    private static int RunTuning(CliContext context, SessionSettings settings, string modelArgument, string? manifestPath, string layerId, int? unit, string? unitList, string familyName, string output)
    {
        var (_, _, manifest, vision, catalog, sessions) = LocalModels.Load(modelArgument, manifestPath, settings, context);
        var layer = catalog.Find(layerId);
        var chosen = ParseUnits(unit, unitList, layer);
        var family = StimulusFamily.Get(familyName);
        var size = vision.Spec.ForwardSize;
        IReadOnlyList<TuningCurve> curves = [];
        WithProgress(context, $"{Markup.Escape(manifest.Id)}/{Markup.Escape(layer.Id)} tuning to {family.Name}", family.Points().Count, task =>
        {
            curves = TuningCurves.Measure(vision, layer, chosen, family, size, sessions, progress: new ScanReporter(p => task.Value = p.Done));
        });

        var folder = Path.Combine(output, manifest.Id, layer.Id);
        Directory.CreateDirectory(folder);
        var points = family.Points();
        var table = new Table().AddColumns("unit", "peak response", "at", "plot");
        foreach (var curve in curves)
        {
            var name = $"{curve.Unit}-tuning-{family.Name}";
            WriteAtomically(Path.Combine(folder, name + ".json"), JsonSerializer.SerializeToUtf8Bytes(curve, ModelManifest.JsonOptions));
            var plot = Path.Combine(folder, name + ".png");
            WriteAtomically(plot, Plots.Render(curve));
            var (value, point) = curve.Peak(points);
            table.AddRow(curve.Unit.ToString(CultureInfo.InvariantCulture), value.ToString("F3", CultureInfo.InvariantCulture),
                string.Join(", ", family.Axes.Select((a, i) => $"{a.Name} {point[i].ToString("G4", CultureInfo.InvariantCulture)} {a.Unit}")), Markup.Escape(plot));
        }

        context.Console.Write(table);
        return CliApp.Ok;
    }

    /// <summary>The activation of the unit's top dataset example, when `--lens dataset-examples` wrote it into this folder.</summary>
    private static double? TopExampleActivation(string folder, int unit)
    {
        var path = Path.Combine(folder, $"{unit}-dataset-examples.json");
        if (!File.Exists(path))
        {
            return null;
        }

        using var json = JsonDocument.Parse(File.ReadAllText(path));
        var top = json.RootElement.GetProperty("top");
        return top.GetArrayLength() > 0 ? top[0].GetProperty("activation").GetDouble() : null;
    }

    private static void Validate(RenderOptions options, int batch)
    {
        if (options.Steps is < 1 or > 100_000 || options.Size is < 16 or > 2048 || (batch is < 1 or > 256 && batch != AutoBatch))
        {
            throw new ModelFormatException("--steps must be 1 to 100000, --size 16 to 2048 and --batch 1 to 256 or auto.");
        }
    }

    /// <summary>Runs <paramref name="work"/> under one progress bar, with the columns every render shows.</summary>
    private static void WithProgress(CliContext context, string description, double max, Action<ProgressTask> work) =>
        context.Console.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(progress => work(progress.AddTask(description, maxValue: max)));

    /// <summary>--batch auto, as parsed.</summary>
    private const int AutoBatch = 0;

    private static int ParseBatch(System.CommandLine.Parsing.ArgumentResult result)
    {
        var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "8";
        if (string.Equals(text, "auto", StringComparison.OrdinalIgnoreCase))
        {
            return AutoBatch;
        }

        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value > 0)
        {
            return value;
        }

        result.AddError($"--batch must be a number of units (1 to 256) or auto, not '{text}'.");
        return 8;
    }

    private static List<int> ParseUnits(int? unit, string? list, Layer layer)
    {
        if (unit is { } single)
        {
            return [Ids.ParseUnit(single.ToString(CultureInfo.InvariantCulture), layer.Id, layer.Units)];
        }

        if (string.IsNullOrWhiteSpace(list))
        {
            return [0];
        }

        var result = new List<int>();
        foreach (var part in list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var range = part.Split('-');
            if (range.Length == 2)
            {
                var (from, to) = (Ids.ParseUnit(range[0], layer.Id, layer.Units), Ids.ParseUnit(range[1], layer.Id, layer.Units));
                if (to < from)
                {
                    throw new UnknownLayerException($"'{part}' is not a range of units: it runs backwards.");
                }

                result.AddRange(Enumerable.Range(from, to - from + 1));
            }
            else
            {
                result.Add(Ids.ParseUnit(part, layer.Id, layer.Units));
            }
        }

        return [.. result.Distinct()];
    }

    private static void WriteAtomically(string path, byte[] bytes)
    {
        var temp = path + ".tmp";
        File.WriteAllBytes(temp, bytes);
        File.Move(temp, path, overwrite: true);
    }

    private sealed class ScanReporter(Action<(int Done, int Total)> report) : IProgress<(int Done, int Total)>
    {
        public void Report((int Done, int Total) value) => report(value);
    }

    private sealed class StepReporter(Action<RenderProgress> report) : IProgress<RenderProgress>
    {
        public void Report(RenderProgress value) => report(value);
    }

    private sealed class Reporter(Action<(int Done, int Total, double MeanObjective)> report) : IProgress<(int Done, int Total, double MeanObjective)>
    {
        public void Report((int Done, int Total, double MeanObjective) value) => report(value);
    }
}
