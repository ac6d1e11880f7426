using Microscope.Testing;
using DataType = Microscope.Onnx.Proto.TensorProto.Types.DataType;

namespace Microscope.Onnx.Tests;

public sealed class VisionGraphTests
{
    [Fact]
    public void A_model_without_an_image_input_is_refused()
    {
        var m = new TinyModel();
        var x = m.Input("tokens", 1, 16);
        m.Output(m.Relu(x));

        var error = Assert.Throws<ModelFormatException>(() => VisionGraph.Compose(m.Build(), new InputSpec(), null, "text.onnx"));
        Assert.Contains("no image-like input", error.Message);
        Assert.Contains("tokens", error.Message);
        Assert.Contains("text.onnx", error.Message);
    }

    [Fact]
    public void An_integer_image_input_is_not_image_like()
    {
        var m = new TinyModel();
        var x = m.Input("pixels", DataType.Uint8, 1, 3, 8, 8);
        m.Output(m.Op("Cast", x, ("to", 1L)));

        Assert.Throws<ModelFormatException>(() => VisionGraph.Compose(m.Build(), new InputSpec(), null, "uint8.onnx"));
    }

    [Fact]
    public void Several_inputs_need_a_manifest_that_names_the_image()
    {
        var m = new TinyModel();
        var a = m.Input("a", 1, 3, 8, 8);
        var b = m.Input("b", 1, 3, 8, 8);
        m.Output(m.Add(a, b));

        var error = Assert.Throws<ModelFormatException>(() => VisionGraph.Compose(m.Build(), new InputSpec(), null, "two.onnx"));
        Assert.Contains("several inputs", error.Message);
        Assert.Contains("manifest", error.Message);
    }

    [Fact]
    public void A_manifest_that_names_a_missing_input_says_which_exist()
    {
        var error = Assert.Throws<ModelFormatException>(() => VisionGraph.Compose(TinyModel.SmallCnn(), new InputSpec { Name = "data" }, null, "small.onnx"));
        Assert.Contains("'data'", error.Message);
        Assert.Contains("x", error.Message);
    }

    [Fact]
    public void The_composed_graph_takes_only_the_image_with_a_free_batch_and_size()
    {
        var vision = VisionGraph.Compose(TinyModel.SmallCnn(), new InputSpec { Size = [16, 16] }, null, "small.onnx");

        var input = Assert.Single(vision.Model.Graph.Input);
        Assert.Equal(VisionGraph.ImageInput, input.Name);
        Assert.Equal("x", vision.ModelInput);
        var dims = input.Type.TensorType.Shape.Dim;
        Assert.Equal(["batch", "3", "height", "width"], dims.Select(d => d.HasDimValue ? d.DimValue.ToString(System.Globalization.CultureInfo.InvariantCulture) : d.DimParam));
        Assert.DoesNotContain(vision.Model.Graph.Node, n => n.Input.Contains("x"));
    }

    [Theory]
    [InlineData("CHW")]
    [InlineData("nchw")]
    public void Unknown_layouts_are_refused(string layout)
    {
        var error = Assert.Throws<ModelFormatException>(() => VisionGraph.Compose(TinyModel.SmallCnn(), new InputSpec { Layout = layout }, null, "small.onnx"));
        Assert.Contains(layout, error.Message);
    }
}
