using Microscope.Onnx.Proto;

namespace Microscope.Onnx;

/// <summary>Typed reads of node attributes, with defaults as the ONNX operator specs give them.</summary>
public static class NodeAttributes
{
    public static AttributeProto? Find(this NodeProto node, string name) => node.Attribute.FirstOrDefault(a => a.Name == name);

    public static bool Has(this NodeProto node, string name) => node.Find(name) is not null;

    public static long Int(this NodeProto node, string name, long fallback) => node.Find(name) is { } a ? a.I : fallback;

    public static float Float(this NodeProto node, string name, float fallback) => node.Find(name) is { } a ? a.F : fallback;

    public static string String(this NodeProto node, string name, string fallback) => node.Find(name) is { } a ? a.S.ToStringUtf8() : fallback;

    public static long[]? Ints(this NodeProto node, string name) => node.Find(name) is { } a ? [.. a.Ints] : null;

    public static float[]? Floats(this NodeProto node, string name) => node.Find(name) is { } a ? [.. a.Floats] : null;

    public static void Remove(this NodeProto node, string name)
    {
        var attribute = node.Find(name);
        if (attribute is not null)
        {
            node.Attribute.Remove(attribute);
        }
    }

    public static void Set(this NodeProto node, AttributeProto attribute)
    {
        node.Remove(attribute.Name);
        node.Attribute.Add(attribute);
    }

    /// <summary>The value of the i-th input, or "" when the input is absent (ONNX's optional inputs).</summary>
    public static string InputOrEmpty(this NodeProto node, int index) => index < node.Input.Count ? node.Input[index] : "";

    public static AttributeProto IntsAttribute(string name, params long[] values) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Ints, Ints = { values } };

    public static AttributeProto IntAttribute(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto FloatAttribute(string name, float value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    public static AttributeProto StringAttribute(string name, string value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = Google.Protobuf.ByteString.CopyFromUtf8(value) };

    public static AttributeProto TensorAttribute(string name, TensorProto value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Tensor, T = value };
}
