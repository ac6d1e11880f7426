using Google.Protobuf;
using Microscope.Onnx.Proto;

namespace Microscope.Onnx;

/// <summary>
/// ONNX lets large tensors live in side files ("external data"). We read them into the model so
/// that every later stage sees one self-contained protobuf, and we refuse any location that
/// leaves the model's folder (absolute paths, "..", links resolved to elsewhere).
/// </summary>
internal static class ExternalData
{
    public static void Inline(ModelProto model, string source, string? folder)
    {
        foreach (var tensor in AllTensors(model.Graph))
        {
            if (tensor.DataLocation != TensorProto.Types.DataLocation.External)
            {
                continue;
            }

            var entries = tensor.ExternalData.ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal);
            if (!entries.TryGetValue("location", out var location) || string.IsNullOrWhiteSpace(location))
            {
                throw new ModelFormatException($"{source}: tensor '{tensor.Name}' is stored as external data without a location.");
            }

            if (folder is null)
            {
                throw new ModelFormatException($"{source}: tensor '{tensor.Name}' refers to an external data file '{location}'; upload a model with its weights inline (onnx.save with save_as_external_data=False).");
            }

            var path = ResolveInside(folder, location, source, tensor.Name);
            long offset = entries.TryGetValue("offset", out var o) ? ParseLength(o, "offset", source, tensor.Name) : 0;
            long length = entries.TryGetValue("length", out var l) ? ParseLength(l, "length", source, tensor.Name) : -1;

            if (!File.Exists(path))
            {
                throw new ModelFormatException($"{source}: tensor '{tensor.Name}' refers to the external data file '{location}', which does not exist beside the model.");
            }

            using var stream = File.OpenRead(path);
            if (length < 0)
            {
                length = stream.Length - offset;
            }

            if (offset < 0 || offset + length > stream.Length)
            {
                throw new ModelFormatException($"{source}: tensor '{tensor.Name}' reads past the end of its external data file '{location}'.");
            }

            var buffer = new byte[length];
            stream.Seek(offset, SeekOrigin.Begin);
            stream.ReadExactly(buffer);
            tensor.RawData = ByteString.CopyFrom(buffer);
            tensor.ExternalData.Clear();
            tensor.DataLocation = TensorProto.Types.DataLocation.Default;
        }
    }

    private static string ResolveInside(string folder, string location, string source, string tensorName)
    {
        var root = Path.GetFullPath(folder);
        if (Path.IsPathRooted(location) || location.Contains("..", StringComparison.Ordinal))
        {
            throw new ModelFormatException($"{source}: tensor '{tensorName}' refers to external data at '{location}', outside the model's folder; external data must sit beside the model.");
        }

        var full = Path.GetFullPath(Path.Combine(root, location));
        var rootWithSeparator = root.EndsWith(Path.DirectorySeparatorChar) ? root : root + Path.DirectorySeparatorChar;
        if (!full.StartsWith(rootWithSeparator, StringComparison.Ordinal))
        {
            throw new ModelFormatException($"{source}: tensor '{tensorName}' refers to external data at '{location}', outside the model's folder; external data must sit beside the model.");
        }

        var info = new FileInfo(full);
        if (info.Exists && info.LinkTarget is not null)
        {
            var target = info.ResolveLinkTarget(returnFinalTarget: true)?.FullName;
            if (target is null || !target.StartsWith(rootWithSeparator, StringComparison.Ordinal))
            {
                throw new ModelFormatException($"{source}: tensor '{tensorName}' refers to external data through a link that leaves the model's folder.");
            }
        }

        return full;
    }

    private static long ParseLength(string text, string what, string source, string tensorName) =>
        long.TryParse(text, out var value) && value >= 0
            ? value
            : throw new ModelFormatException($"{source}: tensor '{tensorName}' has an invalid external data {what} '{text}'.");

    private static IEnumerable<TensorProto> AllTensors(GraphProto graph)
    {
        foreach (var t in graph.Initializer)
        {
            yield return t;
        }

        foreach (var node in graph.Node)
        {
            foreach (var a in node.Attribute)
            {
                if (a.T is not null)
                {
                    yield return a.T;
                }

                foreach (var t in a.Tensors)
                {
                    yield return t;
                }

                if (a.G is not null)
                {
                    foreach (var t in AllTensors(a.G))
                    {
                        yield return t;
                    }
                }
            }
        }
    }
}
