using Google.Protobuf;
using Microscope.Onnx;
using Microscope.Onnx.Proto;
using AttributeType = Microscope.Onnx.Proto.AttributeProto.Types.AttributeType;
using DataType = Microscope.Onnx.Proto.TensorProto.Types.DataType;

namespace Microscope.Testing;

/// <summary>
/// Builds small ONNX models in code, so that most tests need no downloaded model. Weights come
/// from a seeded generator: the same calls give the same model, byte for byte.
/// </summary>
public sealed class TinyModel(long opset = 13, int seed = 1, DataType elementType = DataType.Float)
{
    private readonly GraphProto graph = new() { Name = "tiny" };
    private readonly Random random = new(seed);
    private int counter;

    public long Opset { get; } = opset;

    public DataType ElementType { get; } = elementType;

    /// <summary>A graph input; a dimension of -1 is left symbolic.</summary>
    public string Input(string name, params long[] dims) => Input(name, ElementType, dims);

    public string Input(string name, DataType type, params long[] dims)
    {
        graph.Input.Add(ValueInfo(name, type, dims));
        return name;
    }

    public TinyModel Output(string name, params long[] dims)
    {
        graph.Output.Add(dims.Length == 0 ? new ValueInfoProto { Name = name } : ValueInfo(name, ElementType, dims));
        return this;
    }

    /// <summary>A constant initializer of the model's element type.</summary>
    public string Constant(long[] dims, double[] values, string? name = null)
    {
        name ??= Fresh("const");
        graph.Initializer.Add(Tensors.OfType(ElementType, name, dims, values));
        return name;
    }

    public string Int64Constant(long[] values, string? name = null)
    {
        name ??= Fresh("ints");
        graph.Initializer.Add(Tensors.Int64(name, [values.Length], values));
        return name;
    }

    /// <summary>A rank-0 int64 constant (a scalar index, as `x[0]` exports).</summary>
    public string Int64Scalar(long value, string? name = null)
    {
        name ??= Fresh("index");
        graph.Initializer.Add(Tensors.Int64(name, [], [value]));
        return name;
    }

    /// <summary>A random constant with values in [-scale, scale].</summary>
    public string Random(long[] dims, double scale = 0.5, string? name = null)
    {
        var count = dims.Aggregate(1L, (a, b) => a * b);
        var values = new double[count];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = ((random.NextDouble() * 2) - 1) * scale;
        }

        return Constant(dims, values, name);
    }

    /// <summary>Adds a node; attribute values may be long, double, string, long[], double[] or TensorProto.</summary>
    public string[] Node(string op, string[] inputs, int outputs = 1, params (string Name, object Value)[] attributes)
    {
        var node = new NodeProto { OpType = op, Name = Fresh(op) };
        node.Input.Add(inputs);
        var names = Enumerable.Range(0, outputs).Select(_ => Fresh(op.ToLowerInvariant())).ToArray();
        node.Output.Add(names);
        foreach (var (name, value) in attributes)
        {
            node.Attribute.Add(Attribute(name, value));
        }

        graph.Node.Add(node);
        return names;
    }

    public string Op(string op, string[] inputs, params (string Name, object Value)[] attributes) => Node(op, inputs, 1, attributes)[0];

    public string Op(string op, string input, params (string Name, object Value)[] attributes) => Node(op, [input], 1, attributes)[0];

    public string Conv(string x, int inChannels, int outChannels, int kernel = 3, int stride = 1, int pad = 1, int group = 1, bool bias = true)
    {
        var w = Random([outChannels, inChannels / group, kernel, kernel], 1.0 / Math.Sqrt(inChannels / group * kernel * kernel) * 1.5);
        string[] inputs = bias ? [x, w, Random([outChannels], 0.1)] : [x, w];
        return Op("Conv", inputs, ("kernel_shape", new long[] { kernel, kernel }), ("strides", new long[] { stride, stride }),
            ("pads", new long[] { pad, pad, pad, pad }), ("group", (long)group));
    }

    public string Relu(string x) => Op("Relu", x);

    public string MaxPool(string x, int kernel = 2, int stride = 2) =>
        Op("MaxPool", x, ("kernel_shape", new long[] { kernel, kernel }), ("strides", new long[] { stride, stride }));

    public string Add(string a, string b) => Op("Add", [a, b]);

    public string Concat(int axis, params string[] inputs) => Op("Concat", inputs, ("axis", (long)axis));

    public ModelProto Build()
    {
        var model = new ModelProto { IrVersion = Opset >= 21 ? 10 : Opset >= 15 ? 8 : 7, ProducerName = "microscope-tests", Graph = graph.Clone() };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        return model;
    }

    public byte[] ToBytes() => Build().ToByteArray();

    public string Save(string path)
    {
        File.WriteAllBytes(path, ToBytes());
        return path;
    }

    /// <summary>A small vision model: two conv blocks, a residual add, pooling and a concat.</summary>
    public static ModelProto SmallCnn(long opset = 13, int size = 16)
    {
        var m = new TinyModel(opset);
        var x = m.Input("x", -1, 3, size, size);
        var c1 = m.Relu(m.Conv(x, 3, 4));
        var p1 = m.MaxPool(c1);
        var c2 = m.Conv(p1, 4, 4);
        var res = m.Relu(m.Add(c2, p1));
        var c3 = m.Relu(m.Conv(res, 4, 6, kernel: 1, pad: 0));
        var cat = m.Concat(1, res, c3);
        var gap = m.Op("GlobalAveragePool", cat);
        var flat = m.Op("Flatten", gap, ("axis", 1L));
        var logits = m.Op("Gemm", [flat, m.Random([5, 10]), m.Random([5], 0.1)], ("transB", 1L));
        m.Output(logits);
        return m.Build();
    }

    private string Fresh(string prefix) => $"{prefix}_{counter++}";

    private static ValueInfoProto ValueInfo(string name, DataType type, long[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
        {
            shape.Dim.Add(d < 0 ? new TensorShapeProto.Types.Dimension { DimParam = "d" + shape.Dim.Count } : new TensorShapeProto.Types.Dimension { DimValue = d });
        }

        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } } };
    }

    private static AttributeProto Attribute(string name, object value) => value switch
    {
        long i => new AttributeProto { Name = name, Type = AttributeType.Int, I = i },
        int i => new AttributeProto { Name = name, Type = AttributeType.Int, I = i },
        double f => new AttributeProto { Name = name, Type = AttributeType.Float, F = (float)f },
        float f => new AttributeProto { Name = name, Type = AttributeType.Float, F = f },
        string s => new AttributeProto { Name = name, Type = AttributeType.String, S = ByteString.CopyFromUtf8(s) },
        long[] ints => new AttributeProto { Name = name, Type = AttributeType.Ints, Ints = { ints } },
        double[] floats => new AttributeProto { Name = name, Type = AttributeType.Floats, Floats = { floats.Select(f => (float)f) } },
        TensorProto t => new AttributeProto { Name = name, Type = AttributeType.Tensor, T = t },
        _ => throw new ArgumentException($"unsupported attribute value {value.GetType()}"),
    };
}
