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
            var chosenLens = FarmLenses.Get(parsed.GetValue(lens)!);
            var options = new LensOptions
            {
                Steps = SmokeRun.Cap(parsed.GetValue(steps) ?? (chosenLens == FarmLenses.DeepDream ? new DreamOptions().StepsPerOctave : LensOptions.Default.Steps), 2),
                Size = SmokeRun.Cap(parsed.GetValue(size), 64),
                Seed = parsed.GetValue(seed),
                Fourier = !parsed.GetValue(pixels),
                Transforms = !parsed.GetValue(noTransforms),
                ReluRedirect = !parsed.GetValue(noReluRedirect),
                Top = SmokeRun.Cap(parsed.GetValue(top), 4),
                Family = parsed.GetValue(family)!,
            };
            var requestedBatch = parsed.GetValue(batch);
            return Run(context, new RenderArguments(
                parsed.GetValue(model)!, parsed.GetValue(manifest), LayersAsked(chosenLens, parsed.GetValue(layer), parsed.GetValue(layers)), parsed.GetValue(unit), SmokeRun.Units(parsed.GetValue(units)), chosenLens, options,
                requestedBatch == AutoBatch ? AutoBatch : chosenLens.NeedsDataset ? requestedBatch : SmokeRun.Cap(requestedBatch, 2),
                parsed.GetValue(image), parsed.GetValue(dataset), parsed.GetValue(output)!,
                new SessionSettings { Device = ExecutionDevice.Parse(parsed.GetValue(device)!), Loop = parsed.GetValue(loop) }));
        });
        return command;
    }

    /// <summary>The layers asked for: the one --layer; for a dataset lens also the ids of --layers, or every layer for --layer all (null).</summary>
    private static IReadOnlyList<string>? LayersAsked(LensKind lens, string? layer, string? layers)
    {
        if (!lens.NeedsDataset && (layers is not null || layer is "all"))
        {
            throw new ModelFormatException($"--layers and --layer all are for dataset-examples, which scans the images once for every layer; render {lens.Name} one layer at a time with --layer ID.");
        }

        return (layer, layers) switch
        {
            (not null, not null) => throw new ModelFormatException("give --layer or --layers, not both."),
            (null, null) => throw new ModelFormatException("--layer is required: a layer id (see `microscope models inspect`)" + (lens.NeedsDataset ? ", or all; or --layers a,b." : ".")),
            ("all", _) => null,
            (not null, _) => [layer],
            (_, not null) => layers.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) is { Length: > 0 } ids
                ? [.. ids.Distinct(StringComparer.Ordinal)]
                : throw new ModelFormatException("--layers names no layer: give ids separated by commas."),
        };
    }

    /// <summary>What one `microscope render` asks for, as parsed.</summary>
    /// <param name="Layers">The layers (several only for a dataset lens); null: every layer of the model.</param>
    /// <param name="Batch">Images per pass (a dataset scan's forward passes too), or <see cref="AutoBatch"/>.</param>
    private sealed record RenderArguments(
        string Model, string? Manifest, IReadOnlyList<string>? Layers, int? Unit, string? Units, LensKind Lens, LensOptions Options, int Batch, string? SeedImage, string? Dataset, string Output, SessionSettings Settings);

    /// <summary>
    /// Renders through the farm's lens renderers (<see cref="LocalRender"/>) and writes what a render
    /// silo would store: per unit (or for the layer) a PNG and the same JSON document, in
    /// <c>out/&lt;model&gt;/&lt;layer&gt;/</c> instead of the lens store.
    /// </summary>
    private static int Run(CliContext context, RenderArguments args)
    {
        var lens = args.Lens;
        Validate(args);
        var model = LocalModels.Load(args.Model, args.Manifest, args.Settings, context);
        IReadOnlyList<Layer> layers = args.Layers is null ? model.Catalog.Layers : [.. args.Layers.Select(model.Layer)];
        var several = layers.Count > 1;

        // A dataset lens renders every unit unless told; one layer: the units asked must be its units;
        // several: each layer renders those of them it has.
        var widest = layers.MaxBy(l => l.Units)!;
        IReadOnlyList<int> Units(Layer layer) =>
            lens.Scope == LensScope.Layer ? []
            : lens.NeedsDataset && args.Unit is null && string.IsNullOrWhiteSpace(args.Units) ? [.. Enumerable.Range(0, layer.Units)]
            : several ? [.. ParseUnits(args.Unit, args.Units, widest).Where(u => u < layer.Units)]
            : ParseUnits(args.Unit, args.Units, layer);
        var examples = lens.NeedsDataset ? ExampleImages.InFolder(args.Dataset!, model.ForwardSize) : null;
        var request = new LocalRenderRequest(lens, [.. layers.Select(l => new LayerUnits(l.Id, Units(l)))], args.Options)
        {
            ImagesPerPass = args.Batch,
            SeedImage = args.SeedImage,
            Dataset = args.Dataset,
            ScanBatch = args.Batch == AutoBatch ? new RenderEngineOptions().ScanBatch : args.Batch,
            Examples = examples,
        };
        if (args.SeedImage is not null)
        {
            SeedImages.Load(args.SeedImage, 16); // a bad seed image is bad input before any render
        }

        var what = $"{Markup.Escape(model.Id)}/{(several ? $"{layers.Count} layers" : Markup.Escape(layers[0].Id))} {lens.Name}";
        IReadOnlyList<LocalRenderResult> results = [];
        WithProgress(context, what, task =>
        {
            long taken = 0;
            results = LocalRender.Render(model, request, new Steps(step =>
            {
                taken += step;
                task.Description = $"{what}, {taken.ToString(CultureInfo.InvariantCulture)} steps";
            }), plan => context.Console.MarkupLine(Markup.Escape($"passes: {plan}")));
        });

        var written = results.Select(r => (Result: r, Folder: Path.Combine(args.Output, model.Id, r.Item.Layer))).Select(r =>
        {
            Directory.CreateDirectory(r.Folder);
            if (r.Result.Statistics is { } statistics)
            {
                WriteAtomically(Path.Combine(r.Folder, $"{lens.Name}-statistics.json"), JsonSerializer.SerializeToUtf8Bytes(statistics, LensDocument.Json));
            }

            return (r.Result, r.Folder, Files: r.Result.Lenses.Select(rendered => Write(r.Folder, r.Result.Item, rendered)).ToList());
        }).ToList();

        // One row per lens (for a dataset lens a few per layer: there may be thousands).
        var figures = written.SelectMany(w => w.Files).SelectMany(f => f.Document.Quality.Keys).Distinct().ToList();
        var table = new Table().AddColumns([.. several ? ["layer"] : Array.Empty<string>(), "unit", .. figures, "file"]);
        foreach (var (document, path) in written.SelectMany(w => w.Files.Take(lens.NeedsDataset ? (several ? 3 : 20) : int.MaxValue)))
        {
            table.AddRow([
                .. several ? [Markup.Escape(document.Layer)] : Array.Empty<string>(),
                document.Unit?.ToString(CultureInfo.InvariantCulture) ?? "-",
                .. figures.Select(f => document.Quality.TryGetValue(f, out var v) ? v.ToString("0.###", CultureInfo.InvariantCulture) : "-"),
                Markup.Escape(Path.GetFileName(path)),
            ]);
        }

        context.Console.Write(table);
        var into = several ? $"{Path.Combine(args.Output, model.Id)} ({layers.Count} layers{(examples is null ? "" : $", {examples.Decodes} example images decoded for the mosaics")})" : written[0].Folder;
        if (written[0].Result.Statistics is { } scanned)
        {
            context.Console.MarkupLine(Markup.Escape($"{scanned.Images} images scanned, {scanned.Skipped.Count} skipped (unreadable){(scanned.Skipped.Count > 0 ? ": " + string.Join(", ", scanned.Skipped.Take(5)) : "")}; written to {into}"));
        }
        else
        {
            context.Console.MarkupLine($"written to {Markup.Escape(into)}");
        }

        // Several units of a one-image lens: a contact sheet of their pictures, as docs/lenses.md shows them.
        var files = written[0].Files;
        if (!several && files.Count > 1 && LensRenderers.FeatureObjectiveOf(lens) is { Diversity: false })
        {
            var sheet = Path.Combine(written[0].Folder, $"{lens.Name}-sheet.png");
            var size = args.Options.Size;
            WriteAtomically(sheet, Png.Sheet([.. files.Select(w => SeedImages.Load(w.Path, size))], size, size, Math.Min(8, files.Count)));
            context.Console.MarkupLine($"contact sheet: {Markup.Escape(sheet)}");
        }

        return CliApp.Ok;
    }

    /// <summary>Writes one rendered lens as its PNG and the document the farm stores beside it; returns the document and the PNG's path.</summary>
    private static (LensDocument Document, string Path) Write(string folder, WorkItem item, RenderedLens rendered)
    {
        var lens = FarmLenses.Get(item.Lens);
        var name = rendered.Unit < 0 ? lens.Name
            : lens.Reads.HasFlag(LensOptionFields.Family) ? $"{rendered.Unit}-{lens.Name}-{item.Options.Family}"
            : $"{rendered.Unit}-{lens.Name}";
        var data = rendered.Data is null ? (JsonElement?)null : JsonSerializer.SerializeToElement(rendered.Data, LensDocument.Json);
        var quality = new Dictionary<string, double>(rendered.Quality);
        if (TopExampleActivation(folder, rendered.Unit) is { } top && top > 0 && SpatialMaximum(data) is { } maximum)
        {
            quality["ratioToTopDatasetExample"] = maximum / top;
        }

        var document = new LensDocument(item.Model, item.ModelVersion, item.Layer, rendered.Unit < 0 ? null : rendered.Unit, item.Lens, item.Options.Hash(), item.Options, quality, DateTimeOffset.UtcNow, data);
        var path = Path.Combine(folder, name + ".png");
        WriteAtomically(path, rendered.Png);
        WriteAtomically(Path.Combine(folder, name + ".json"), JsonSerializer.SerializeToUtf8Bytes(document, LensDocument.Json));
        return (document, path);
    }

    /// <summary>A feature visualization's spatial maximum (the mean over its images), from its data.</summary>
    private static double? SpatialMaximum(JsonElement? data) =>
        data is { ValueKind: JsonValueKind.Object } d && d.TryGetProperty("images", out var images) && images.GetArrayLength() > 0
            ? images.EnumerateArray().Average(i => i.GetProperty("spatialMaximum").GetDouble())
            : null;

    /// <summary>The activation of the unit's top dataset example, when `--lens dataset-examples` wrote it into this folder.</summary>
    private static double? TopExampleActivation(string folder, int unit)
    {
        var path = Path.Combine(folder, $"{unit}-{FarmLenses.DatasetExamples.Name}.json");
        if (unit < 0 || !File.Exists(path))
        {
            return null;
        }

        using var json = JsonDocument.Parse(File.ReadAllText(path));
        return json.RootElement.TryGetProperty("quality", out var quality) && quality.TryGetProperty("topActivation", out var top) ? top.GetDouble() : null;
    }

    private static void Validate(RenderArguments args)
    {
        var (options, batch) = (args.Options, args.Batch);
        if (args.Lens.NeedsDataset)
        {
            if (args.Dataset is null)
            {
                throw new ModelFormatException($"{args.Lens.Name} needs --dataset DIR, a folder of images.");
            }

            if (options.Top is < 1 or > 1000)
            {
                throw new ModelFormatException("--top must be 1 to 1000.");
            }
        }

        if (options.Steps is < 1 or > 100_000 || options.Size is < 16 or > 2048 || (batch is < 1 or > 256 && batch != AutoBatch && !args.Lens.NeedsDataset))
        {
            throw new ModelFormatException("--steps must be 1 to 100000, --size 16 to 2048 and --batch 1 to 256 or auto.");
        }
    }

    /// <summary>Runs <paramref name="work"/> under one progress display: the lens, the steps taken so far, the time.</summary>
    private static void WithProgress(CliContext context, string description, Action<ProgressTask> work) =>
        context.Console.Progress()
            .Columns(new TaskDescriptionColumn(), new ElapsedTimeColumn(), new SpinnerColumn())
            .Start(progress =>
            {
                var task = progress.AddTask(description);
                task.IsIndeterminate = true;
                work(task);
                task.StopTask();
            });

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

    private sealed class Steps(Action<int> report) : IProgress<int>
    {
        public void Report(int value) => report(value);
    }
}
