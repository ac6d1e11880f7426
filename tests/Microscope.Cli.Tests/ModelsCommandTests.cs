using System.Text.Json;
using Microscope.Testing;

namespace Microscope.Cli.Tests;

public sealed class ModelsCommandTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("microscope-cli-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    [Fact]
    public void Inspect_resnet18_as_json_lists_its_layers()
    {
        var run = CliRun.Of("models", "inspect", "resnet18", "--json");

        Assert.Equal(0, run.ExitCode);
        using var json = JsonDocument.Parse(run.Output);
        Assert.Equal("resnet18", json.RootElement.GetProperty("model").GetString());
        var layers = json.RootElement.GetProperty("layers").EnumerateArray().ToList();
        Assert.True(layers.Count >= 20);
        var conv1 = layers.Single(l => l.GetProperty("id").GetString() == "conv1");
        Assert.Equal([64, 112, 112], conv1.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()));
        Assert.Equal(64, conv1.GetProperty("units").GetInt32());
        Assert.Equal("Conv", conv1.GetProperty("op").GetString());
    }

    [Fact]
    public void Inspect_prints_a_table()
    {
        var run = CliRun.Of("models", "inspect", "resnet18");

        Assert.Equal(0, run.ExitCode);
        Assert.Contains("conv1", run.Output);
        Assert.Contains("64×112×112", run.Output);
        Assert.Contains("layer4.2.relu", run.Output);
    }

    [Fact]
    public void List_shows_the_organisms()
    {
        var run = CliRun.Of("models", "list");

        Assert.Equal(0, run.ExitCode);
        Assert.Contains("resnet18", run.Output);
        Assert.Contains("ppocr-det", run.Output);
        Assert.Contains("ppocr-cls", run.Output);
    }

    [Fact]
    public void A_model_given_by_path_says_what_was_assumed()
    {
        var path = Path.Combine(folder, "small.onnx");
        File.WriteAllBytes(path, Google.Protobuf.MessageExtensions.ToByteArray(TinyModel.SmallCnn()));

        var run = CliRun.Of("models", "inspect", path);

        Assert.Equal(0, run.ExitCode);
        var assumed = run.Output.Split('\n').Where(l => l.StartsWith("assumed:", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, assumed.Count);                    // the input, the colour range and the size, each said once
        Assert.Equal(assumed.Distinct(), assumed);
        Assert.Contains("Gemm", run.Output);
    }

    [Fact]
    public void Inspect_a_vision_transformer_shows_axes_class_tokens_and_what_it_hid()
    {
        var path = Path.Combine(folder, "vit.onnx");
        File.WriteAllBytes(path, Google.Protobuf.MessageExtensions.ToByteArray(TinyTransformers.Vit()));

        var run = CliRun.Of("models", "inspect", path);

        Assert.Equal(0, run.ExitCode);
        Assert.Contains("(T·N),C +1 token", run.Output);
        Assert.Contains(".cls", run.Output);
        Assert.Contains("N,T,C token 0", run.Output);
        Assert.Contains("hidden: 6 tensors with a units axis split apart (attention heads)", run.Output);
        Assert.Single(run.Output.Split('\n'), line => line.Contains("hidden:", StringComparison.Ordinal));
    }

    [Fact]
    public void Inspect_as_json_gives_each_layer_its_source_tensor_and_axes()
    {
        var path = Path.Combine(folder, "mlp.onnx");
        File.WriteAllBytes(path, Google.Protobuf.MessageExtensions.ToByteArray(TinyTransformers.ChannelsLastMlp()));

        var run = CliRun.Of("models", "inspect", path, "--json");

        Assert.Equal(0, run.ExitCode);
        using var json = JsonDocument.Parse(run.Output);
        var gelu = json.RootElement.GetProperty("layers").EnumerateArray().Single(l => l.GetProperty("op").GetString() == "Mul");
        Assert.Equal("N,H,W,C", gelu.GetProperty("layout").GetString());
        Assert.Equal([16, 4, 4], gelu.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()));
        Assert.NotEqual(gelu.GetProperty("tensor").GetString(), gelu.GetProperty("source").GetString());
    }

    [Fact]
    public void Roles_stated_in_a_manifest_that_do_not_fit_are_bad_input()
    {
        var path = Path.Combine(folder, "vit.onnx");
        File.WriteAllBytes(path, Google.Protobuf.MessageExtensions.ToByteArray(TinyTransformers.Vit()));
        var manifest = Path.Combine(folder, "vit.manifest.json");
        File.WriteAllText(manifest, """{ "id": "vit", "model": "vit.onnx", "input": { "size": [8, 8] }, "layers": { "roles": { "Gemm_78": "N,C" } } }""");

        CliRun.Of("models", "inspect", path, "--manifest", manifest).AssertBadInput("roles 'N,C'", "does not match");
    }

    [Fact]
    public void A_directory_is_named_as_one_and_a_missing_preprocessing_model_as_the_manifests()
    {
        CliRun.Of("models", "inspect", folder).AssertBadInput(folder, "is a directory");

        var path = Path.Combine(folder, "prepped.onnx");
        File.WriteAllBytes(path, Google.Protobuf.MessageExtensions.ToByteArray(TinyModel.SmallCnn()));
        File.WriteAllText(Path.Combine(folder, "prepped.manifest.json"), """{ "id": "prepped", "model": "prepped.onnx", "input": { "preprocessingModel": "prep.onnx" } }""");
        CliRun.Of("models", "inspect", path).AssertBadInput("prep.onnx", "the manifest of 'prepped' names it as input.preprocessingModel");
    }

    [Fact]
    public void Malformed_protobuf_is_bad_input()
    {
        var path = Path.Combine(folder, "bad.onnx");
        File.WriteAllBytes(path, [0x08, 0x07, 0x12, 0xFF, 0xFF, 0xFF, 0x01, 0x02]);
        CliRun.Of("models", "inspect", path).AssertBadInput(path, "not a valid ONNX model");
    }

    [Fact]
    public void A_truncated_model_is_bad_input()
    {
        var path = Path.Combine(folder, "truncated.onnx");
        var bytes = Google.Protobuf.MessageExtensions.ToByteArray(TinyModel.SmallCnn());
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        CliRun.Of("models", "inspect", path).AssertBadInput(path, "not a valid ONNX model");
    }

    [Fact]
    public void A_file_that_is_not_onnx_is_bad_input()
    {
        var path = Path.Combine(folder, "notes.onnx");
        File.WriteAllText(path, "hello, this is text\n");
        CliRun.Of("models", "inspect", path).AssertBadInput(path, "not an ONNX model");
    }

    [Fact]
    public void External_data_outside_the_models_folder_is_bad_input()
    {
        var model = TinyModel.SmallCnn();
        var weights = model.Graph.Initializer[0];
        weights.ClearRawData();
        weights.DataLocation = Onnx.Proto.TensorProto.Types.DataLocation.External;
        weights.ExternalData.Add(new Onnx.Proto.StringStringEntryProto { Key = "location", Value = "../../etc/passwd" });
        var path = Path.Combine(folder, "external.onnx");
        File.WriteAllBytes(path, Google.Protobuf.MessageExtensions.ToByteArray(model));

        CliRun.Of("models", "inspect", path).AssertBadInput(path, "outside the model's folder");
    }

    [Fact]
    public void A_model_without_an_image_input_is_bad_input()
    {
        var m = new TinyModel();
        var x = m.Input("tokens", 1, 128);
        m.Output(m.Relu(x));
        var path = m.Save(Path.Combine(folder, "text.onnx"));

        CliRun.Of("models", "inspect", path).AssertBadInput(path, "no image-like input");
    }

    [Fact]
    public void An_unknown_organism_is_bad_input() =>
        CliRun.Of("models", "inspect", "alexnet").AssertBadInput("unknown model organism 'alexnet'", "resnet18");

    [Fact]
    public void An_unknown_option_is_bad_input() =>
        CliRun.Of("models", "inspect", "resnet18", "--colour").AssertBadInput("--colour", "Unrecognized");

    [Fact]
    public void An_unknown_subcommand_is_one_error_line() =>
        CliRun.Of("models", "frob").AssertBadInput("'frob'", "Unrecognized");
}
