using Microscope.Onnx;
using Microscope.Onnx.Gradients;
using Microscope.Onnx.Proto;
using Microsoft.ML.OnnxRuntime;
using DataType = Microscope.Onnx.Proto.TensorProto.Types.DataType;

namespace Microscope.Inference;

/// <summary>Measures tensor shapes with one ONNX Runtime run on a grey image at a fixed size.</summary>
public static class ShapeProbes
{
    public static ShapeProbe OnCpu(int height, int width) => (model, tensors, batch) => Measure(model, tensors, batch, height, width);

    public static IReadOnlyDictionary<string, long[]> Measure(ModelProto model, IReadOnlyList<string> tensors, int batch, int height, int width)
    {
        var probe = model.Clone();
        probe.Graph.Output.Clear();
        foreach (var tensor in tensors)
        {
            probe.Graph.Output.Add(new ValueInfoProto { Name = tensor });
        }

        using var options = new SessionOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR, GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL };
        using var session = new InferenceSession(OnnxModelFile.ToBytes(probe), options);
        var input = model.Graph.Input.Single(i => i.Name == VisionGraph.ImageInput);
        long[] shape = [batch, 3, height, width];
        var count = checked(batch * 3 * height * width);
        using var value = (DataType)input.Type.TensorType.ElemType == DataType.Double
            ? OrtValue.CreateTensorValueFromMemory(Enumerable.Repeat(0.5, count).ToArray(), shape)
            : OrtValue.CreateTensorValueFromMemory(Enumerable.Repeat(0.5f, count).ToArray(), shape);
        using var runOptions = new RunOptions();
        using var results = session.Run(runOptions, [VisionGraph.ImageInput], [value], [.. tensors]);
        var shapes = new Dictionary<string, long[]>(StringComparer.Ordinal);
        for (var i = 0; i < tensors.Count; i++)
        {
            shapes[tensors[i]] = results[i].GetTensorTypeAndShape().Shape;
        }

        return shapes;
    }
}
