using Microscope.Onnx.Proto;
using DataType = Microscope.Onnx.Proto.TensorProto.Types.DataType;

namespace Microscope.Onnx.Tests;

public sealed class GraphEmitterTests
{
    [Fact]
    public void Fresh_names_never_repeat_and_never_take_a_name_of_the_graph()
    {
        var g = new GraphEmitter("grad/", ["grad/mul_0", "grad/t_2"]);
        var names = new[] { g.Node("Mul", ["a", "b"]), g.Fresh(), g.Fresh(), g.Ints(1, 2), g.FloatScalar(0.5) };

        Assert.Equal(names.Length, names.Distinct().Count());
        Assert.DoesNotContain("grad/mul_0", names);
        Assert.DoesNotContain("grad/t_2", names);
        Assert.All(names, n => Assert.StartsWith("grad/", n, StringComparison.Ordinal));
    }

    [Fact]
    public void A_node_is_named_after_its_output_and_collected_in_order()
    {
        var g = new GraphEmitter("resident/", nodePrefix: "resident/node/");
        var sum = g.Node("Add", ["x", "y"]);
        var fixedOutput = g.Node("Identity", [sum], "next_image");
        var parts = g.Node("Split", [fixedOutput], 2, NodeAttributes.IntAttribute("axis", 1));

        Assert.Equal(["Add", "Identity", "Split"], g.Nodes.Select(n => n.OpType));
        Assert.Equal("resident/node/" + sum, g.Nodes[0].Name);
        Assert.Equal(["x", "y"], g.Nodes[0].Input);
        Assert.Equal("next_image", fixedOutput);
        Assert.Equal("resident/node/next_image", g.Nodes[1].Name);
        Assert.Equal(parts, g.Nodes[2].Output);
        Assert.Equal(1, g.Nodes[2].Int("axis", 0));
    }

    [Fact]
    public void Names_the_caller_chose_are_reserved_too()
    {
        var g = new GraphEmitter("p/");
        g.Named("p/colour", "Conv", ["image"], ["p/t_0"]);
        g.Initializer(Tensors.Float("p/floats_1", [1], [1f]));

        Assert.NotEqual("p/t_0", g.Fresh());
        Assert.NotEqual("p/floats_1", g.Floats(2f));
    }

    [Fact]
    public void Constants_have_the_asked_type_shape_and_values()
    {
        var g = new GraphEmitter("c/");
        var d = g.Constant(DataType.Double, [2], [1.5, -2]);
        var f = g.FloatScalar(0.25);
        var i = g.Ints(3, 4, 5);
        var s = g.IntScalar(7);

        var byName = g.Initializers.ToDictionary(t => t.Name);
        Assert.Equal((int)DataType.Double, byName[d].DataType);
        Assert.Equal([1.5, -2], Tensors.ToDoubles(byName[d]));
        Assert.Empty(byName[f].Dims);
        Assert.Equal([0.25f], Tensors.ToFloats(byName[f]));
        Assert.Equal([3L], byName[i].Dims);
        Assert.Equal([3L, 4, 5], Tensors.ToInt64s(byName[i]));
        Assert.Empty(byName[s].Dims);
        Assert.Equal([7L], Tensors.ToInt64s(byName[s]));
    }
}
