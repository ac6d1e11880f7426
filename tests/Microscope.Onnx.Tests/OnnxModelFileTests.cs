using Google.Protobuf;
using Microscope.Onnx.Proto;
using Microscope.Testing;

namespace Microscope.Onnx.Tests;

public sealed class OnnxModelFileTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("microscope-onnx-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    [Fact]
    public void A_model_written_and_read_again_is_the_same()
    {
        var model = TinyModel.SmallCnn();
        var path = Path.Combine(folder, "small.onnx");
        OnnxModelFile.Save(model, path);

        var loaded = OnnxModelFile.Load(path);

        Assert.Equal(model.ToByteArray(), loaded.ToByteArray());
        Assert.Equal(13, new OnnxGraph(loaded).OpsetVersion);
    }

    [Fact]
    public void A_missing_file_is_named()
    {
        var path = Path.Combine(folder, "nope.onnx");
        var error = Assert.Throws<ModelFormatException>(() => OnnxModelFile.Load(path));
        Assert.Contains(path, error.Message);
        Assert.Contains("no such file", error.Message);
    }

    [Fact]
    public void An_empty_file_is_not_a_model()
    {
        var path = Path.Combine(folder, "empty.onnx");
        File.WriteAllBytes(path, []);
        var error = Assert.Throws<ModelFormatException>(() => OnnxModelFile.Load(path));
        Assert.Contains("empty", error.Message);
    }

    [Fact]
    public void A_text_file_is_not_a_model()
    {
        var path = Path.Combine(folder, "readme.onnx");
        File.WriteAllText(path, "this is not a model\n");
        var error = Assert.Throws<ModelFormatException>(() => OnnxModelFile.Load(path));
        Assert.Contains("not an ONNX model", error.Message);
        Assert.Contains(path, error.Message);
    }

    [Theory]
    [InlineData(0.25)]
    [InlineData(0.5)]
    [InlineData(0.9)]
    public void A_truncated_model_is_reported_as_such(double keep)
    {
        var bytes = TinyModel.SmallCnn().ToByteArray();
        var path = Path.Combine(folder, "truncated.onnx");
        File.WriteAllBytes(path, bytes[..(int)(bytes.Length * keep)]);

        var error = Assert.Throws<ModelFormatException>(() => OnnxModelFile.Load(path));
        Assert.Contains("not a valid ONNX model", error.Message);
    }

    [Theory]
    [InlineData("../secret.bin")]
    [InlineData("/etc/passwd")]
    [InlineData("sub/../../secret.bin")]
    public void External_data_outside_the_model_folder_is_refused(string location)
    {
        File.WriteAllBytes(Path.Combine(Path.GetDirectoryName(folder)!, "secret.bin"), new byte[64]);
        var path = Path.Combine(folder, "external.onnx");
        File.WriteAllBytes(path, WithExternalWeights(location).ToByteArray());

        var error = Assert.Throws<ModelFormatException>(() => OnnxModelFile.Load(path));
        Assert.Contains("outside the model's folder", error.Message);
        Assert.Contains(location, error.Message);
    }

    [Fact]
    public void External_data_beside_the_model_is_read_inline()
    {
        var values = new float[] { 1, 2, 3, 4 };
        File.WriteAllBytes(Path.Combine(folder, "weights.bin"), [.. new byte[8], .. values.SelectMany(BitConverter.GetBytes)]);
        var model = WithExternalWeights("weights.bin", offset: 8, length: 16);
        var path = Path.Combine(folder, "external.onnx");
        File.WriteAllBytes(path, model.ToByteArray());

        var loaded = OnnxModelFile.Load(path);

        var weights = loaded.Graph.Initializer.Single(t => t.Name == "w");
        Assert.Equal(TensorProto.Types.DataLocation.Default, weights.DataLocation);
        Assert.Equal(values, Tensors.ToFloats(weights));
    }

    [Fact]
    public void External_data_is_refused_when_the_model_has_no_folder()
    {
        var error = Assert.Throws<ModelFormatException>(() => OnnxModelFile.Parse(WithExternalWeights("w.bin").ToByteArray(), "upload.onnx", externalDataFolder: null));
        Assert.Contains("external data", error.Message);
        Assert.Contains("upload.onnx", error.Message);
    }

    private static ModelProto WithExternalWeights(string location, long offset = 0, long length = 16)
    {
        var m = new TinyModel();
        var x = m.Input("x", 1, 4);
        var model = new TinyModel();
        var built = m.Build();
        var weights = new TensorProto { Name = "w", DataType = (int)TensorProto.Types.DataType.Float, DataLocation = TensorProto.Types.DataLocation.External };
        weights.Dims.Add(4);
        weights.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = location });
        weights.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        weights.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = length.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        built.Graph.Initializer.Add(weights);
        var node = new NodeProto { OpType = "Add", Name = "add" };
        node.Input.Add(x);
        node.Input.Add("w");
        node.Output.Add("y");
        built.Graph.Node.Add(node);
        built.Graph.Output.Add(new ValueInfoProto { Name = "y" });
        return built;
    }
}
