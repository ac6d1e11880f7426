using Google.Protobuf;
using Microscope.Onnx.Proto;

namespace Microscope.Onnx;

/// <summary>
/// Reads ONNX files defensively. Everything that reaches the rest of the system has been parsed
/// completely, has a graph, and carries its weights inline: external-data files are read from the
/// model's own folder and nowhere else, so a model cannot make us read arbitrary files.
/// </summary>
public static class OnnxModelFile
{
    /// <summary>ONNX files start with field 1 (ir_version, varint) or, rarely, another top-level field.</summary>
    private static readonly byte[] PlausibleFirstBytes = [0x08, 0x12, 0x1a, 0x22, 0x28, 0x32, 0x3a, 0x42];

    public static ModelProto Load(string path)
    {
        if (Directory.Exists(path))
        {
            throw new ModelFormatException($"{path}: is a directory; give the path of an .onnx model file in it (its manifest, if any, is found beside it as <model>.manifest.json).");
        }

        if (!File.Exists(path))
        {
            throw new ModelFormatException($"{path}: no such file.");
        }

        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ModelFormatException($"{path}: cannot be read ({ex.Message}).", ex);
        }

        return Parse(bytes, path, Path.GetDirectoryName(Path.GetFullPath(path)));
    }

    /// <param name="bytes">The whole file.</param>
    /// <param name="source">How to name the input in error messages (a path or an upload name).</param>
    /// <param name="externalDataFolder">The only folder external data may be read from; null forbids external data.</param>
    public static ModelProto Parse(ReadOnlySpan<byte> bytes, string source, string? externalDataFolder)
    {
        if (bytes.Length == 0)
        {
            throw new ModelFormatException($"{source}: the file is empty, not an ONNX model.");
        }

        if (Array.IndexOf(PlausibleFirstBytes, bytes[0]) < 0)
        {
            throw new ModelFormatException($"{source}: not an ONNX model (the file does not start like an ONNX protobuf).");
        }

        ModelProto model;
        try
        {
            model = ModelProto.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new ModelFormatException($"{source}: not a valid ONNX model: the protobuf is malformed or truncated ({ex.Message}).", ex);
        }

        if (model.Graph is null || model.Graph.Node.Count == 0)
        {
            throw new ModelFormatException($"{source}: not a valid ONNX model: it has no graph (the file may be truncated or not ONNX).");
        }

        if (model.IrVersion <= 0)
        {
            throw new ModelFormatException($"{source}: not a valid ONNX model: ir_version is missing.");
        }

        if (model.Graph.Output.Count == 0)
        {
            throw new ModelFormatException($"{source}: not a valid ONNX model: the graph has no outputs (the file may be truncated).");
        }

        foreach (var node in model.Graph.Node)
        {
            if (string.IsNullOrEmpty(node.OpType))
            {
                throw new ModelFormatException($"{source}: not a valid ONNX model: a node has no op type (the file may be truncated).");
            }
        }

        ExternalData.Inline(model, source, externalDataFolder);
        return model;
    }

    public static byte[] ToBytes(ModelProto model) => model.ToByteArray();

    public static void Save(ModelProto model, string path)
    {
        var temp = path + ".tmp-" + Guid.NewGuid().ToString("N");
        File.WriteAllBytes(temp, model.ToByteArray());
        File.Move(temp, path, overwrite: true);
    }
}
