using System.Text.Json;
using Microscope.Farm.Storage;
using Microscope.Onnx;
using Microscope.Organisms;
using Microscope.Testing;

namespace Microscope.Farm.Rendering.Tests;

/// <summary>Publishing models to the lens store: content-addressed versions, the package's files, the lenses offered.</summary>
public sealed class ModelPackagesTests(RenderFixture fixture) : IClassFixture<RenderFixture>
{
    private readonly RenderFixture fixture = fixture;

    [Fact]
    public async Task A_file_published_from_another_folder_is_the_same_version_and_its_source_names_no_server_path()
    {
        var elsewhere = Path.Combine(fixture.NewFolder("elsewhere"), "small.onnx");
        File.Copy(fixture.ModelPath, elsewhere);

        var model = await ModelPackages.PublishFileAsync(new FileSystemLensStore(fixture.NewFolder("other-store")), elsewhere);

        Assert.Equal(fixture.Model.Version, model.Version);
        Assert.Equal("small.onnx", model.Source);
        Assert.Equal("small.onnx", fixture.Model.Source);
    }

    [Fact]
    public async Task Publishing_twice_is_one_version_that_writes_nothing_new()
    {
        var model = fixture.Model;
        var files = await ListAsync(fixture.Store, model);
        var modified = File.GetLastWriteTimeUtc(Path.Combine(fixture.Folder, "lenses", LensPaths.Model(model.Id, model.Version, ModelPackages.ModelFile)));

        var again = await ModelPackages.PublishFileAsync(fixture.Store, fixture.ModelPath);

        Assert.Equal(model.Version, again.Version);
        Assert.Matches("^[0-9a-f]{16}$", model.Version);
        Assert.Equal(files, await ListAsync(fixture.Store, model));
        Assert.Equal(modified, File.GetLastWriteTimeUtc(Path.Combine(fixture.Folder, "lenses", LensPaths.Model(model.Id, model.Version, ModelPackages.ModelFile))));
        Assert.Equal([ModelPackages.CatalogFile, ModelPackages.ManifestFile, ModelPackages.ModelFile], files.Select(Path.GetFileName));
    }

    [Fact]
    public async Task The_model_info_lists_layers_in_graph_order_and_every_lens()
    {
        var model = fixture.Model;

        Assert.Equal(8, model.Layers.Count);
        Assert.Equal(47, model.TotalUnits);
        Assert.Equal(Enumerable.Range(0, 8), model.Layers.Select(l => l.Index));
        Assert.Equal(FarmLenses.All.Select(l => l.Name), model.Lenses);
        Assert.Equal(LensPaths.ModelPrefix(model.Id, model.Version), model.PackagePath);

        // The catalog stored beside the model names the same layers.
        using var catalog = JsonDocument.Parse((await fixture.Store.GetAsync(LensPaths.Model(model.Id, model.Version, ModelPackages.CatalogFile)))!.Content);
        Assert.Equal(model.Layers.Select(l => l.Id), catalog.RootElement.GetProperty("layers").EnumerateArray().Select(l => l.GetProperty("id").GetString()));
    }

    /// <summary>The graph travels with the version: the model info and the stored catalog hold the same edges, every layer fed, the image first.</summary>
    [Fact]
    public async Task The_model_info_and_the_stored_catalog_hold_the_layer_graph()
    {
        var model = fixture.Model;

        Assert.Equal(model.Layers[0].Id, Assert.Single(model.Edges, e => e.From == "input").To);
        Assert.All(model.Layers, l => Assert.Contains(model.Edges, e => e.To == l.Id));
        Assert.All(model.Edges, e => Assert.True(e.From == "input" || model.Layer(e.From).Index < model.Layer(e.To).Index, $"{e.From} -> {e.To}"));
        Assert.Equal(2, model.Edges.Count(e => e.To == model.Layers.Single(l => l.Op == "Concat").Id));
        Assert.Equal([3, model.Layers[0].Shape[1], model.Layers[0].Shape[2]], model.InputShape);
        // Its first layer is a convolution's Relu: no layer is affine in the image.
        Assert.All(model.Layers, l => Assert.False(l.AffineInImage, l.Id));

        using var catalog = JsonDocument.Parse((await fixture.Store.GetAsync(LensPaths.Model(model.Id, model.Version, ModelPackages.CatalogFile)))!.Content);
        Assert.Equal(model.Edges.Select(e => $"{e.From} -> {e.To}"),
            catalog.RootElement.GetProperty("edges").EnumerateArray().Select(e => $"{e.GetProperty("from").GetString()} -> {e.GetProperty("to").GetString()}"));
    }

    [Fact]
    public async Task The_stored_manifest_names_the_stored_files_and_a_preprocessing_model_travels_with_it()
    {
        var folder = fixture.NewFolder("organisms");
        File.Copy(fixture.ModelPath, Path.Combine(folder, "tiny.onnx"));
        var prep = new TinyModel(opset: 13);
        var raw = prep.Input("raw", 1, 3, RenderFixture.Size, RenderFixture.Size);
        prep.Output(prep.Op("Sub", [raw, prep.Constant([1, 3, 1, 1], [0.5, 0.4, 0.3])]));
        prep.Save(Path.Combine(folder, "tiny-prep.onnx"));
        var manifest = OrganismRegistry.Default.Resolve(fixture.ModelPath) with { Id = "tiny", Title = "Tiny", Source = "tests", Model = "tiny.onnx", BaseDirectory = "" };
        manifest = manifest with { Input = manifest.Input with { PreprocessingModel = "tiny-prep.onnx" } };
        await File.WriteAllBytesAsync(Path.Combine(folder, "tiny.json"), JsonSerializer.SerializeToUtf8Bytes(manifest, ModelManifest.JsonOptions));

        var model = await ModelPackages.PublishOrganismAsync(fixture.Store, "tiny", new OrganismRegistry(folder));

        Assert.Equal(("tiny", "Tiny", "tests"), (model.Id, model.Title, model.Source));
        Assert.NotEqual(fixture.Model.Version, model.Version);
        var stored = JsonSerializer.Deserialize<ModelManifest>((await fixture.Store.GetAsync(LensPaths.Model("tiny", model.Version, ModelPackages.ManifestFile)))!.Content.Span, ModelManifest.JsonOptions)!;
        Assert.Equal(ModelPackages.ModelFile, stored.Model);
        Assert.Equal(ModelPackages.PreprocessingFile, stored.Input.PreprocessingModel);
        Assert.True(await fixture.Store.ExistsAsync(LensPaths.Model("tiny", model.Version, ModelPackages.PreprocessingFile)));

        // A render silo fetches all of it and renders through the preprocessing.
        var loaded = await fixture.Cache().GetAsync("tiny", model.Version);
        Assert.Contains(loaded.Vision.Model.Graph.Node, n => n.OpType == "Sub");
        var item = fixture.Item("featurevis", [0]) with { Model = "tiny", ModelVersion = model.Version };
        Assert.True((await fixture.Engine().RenderAsync(item, null, CancellationToken.None)).Rendered);

        // The same manifest given with the file is the same version.
        Assert.Equal(model.Version, (await ModelPackages.PublishFileAsync(fixture.Store, Path.Combine(folder, "tiny.onnx"), Path.Combine(folder, "tiny.json"))).Version);
        await Assert.ThrowsAsync<ModelFormatException>(() => ModelPackages.PublishOrganismAsync(fixture.Store, "../tiny", new OrganismRegistry(folder)));
    }

    [Fact]
    public async Task A_model_without_gradient_rules_offers_its_forward_lenses_and_says_why()
    {
        // Cos has no gradient rule: dataset examples and tuning curves still work.
        var m = new TinyModel();
        var x = m.Input("x", -1, 3, 16, 16);
        var c1 = m.Op("Cos", m.Relu(m.Conv(x, 3, 4)));
        m.Output(m.Relu(m.Conv(c1, 4, 4)));
        var path = m.Save(Path.Combine(fixture.NewFolder("cos"), "cosine.onnx"));

        var model = await ModelPackages.PublishFileAsync(fixture.Store, path);

        Assert.Equal(["dataset-examples", "tuning"], model.Lenses);
        Assert.Contains(model.Notes, n => n.Contains("gradient lenses are not offered", StringComparison.Ordinal) && n.Contains("Cos", StringComparison.Ordinal));

        // The inferred manifest's guesses are notes too.
        Assert.Contains(model.Notes, n => n.Contains("no manifest was given", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_package_staged_for_intake_reads_back_as_the_same_version_with_its_notes_and_a_changed_one_is_refused()
    {
        // What the api role stages (the intake file) and a render silo reads back before it catalogs.
        var package = await ModelPackage.ReadAsync(ManifestInference.Infer(fixture.ModelPath));
        Assert.NotEmpty(package.Manifest.Assumptions);
        var staged = ModelPackage.FromIntake(package.Version, package.IntakeJson(), package.Model, package.Preprocessing, fixture.NewFolder("intake"));

        Assert.Equal(package.Version, staged.Version);
        Assert.Equal(package.ManifestJson, staged.ManifestJson);
        Assert.Equal(package.Manifest.Assumptions, staged.Manifest.Assumptions);
        Assert.True(File.Exists(staged.Manifest.ModelPath));
        var published = await ModelPackages.PublishAsync(new FileSystemLensStore(fixture.NewFolder("intake-store")), staged, Inference.ProbeLimits.Default, _ => Task.CompletedTask);
        Assert.Equal(package.Version, published.Version);
        Assert.Contains(published.Notes, n => n.Contains("no manifest was given", StringComparison.Ordinal));

        var changed = (byte[])package.Model.Clone();
        changed[^1] ^= 1;
        var error = Assert.Throws<ModelFormatException>(() => ModelPackage.FromIntake(package.Version, package.IntakeJson(), changed, null, fixture.NewFolder("intake-changed")));
        Assert.Contains("upload the model again", error.Message, StringComparison.Ordinal);
    }

    private static async Task<List<string>> ListAsync(ILensStore store, ModelInfo model)
    {
        var files = new List<string>();
        await foreach (var path in store.ListAsync(LensPaths.ModelPrefix(model.Id, model.Version)))
        {
            files.Add(path);
        }

        return files;
    }
}
