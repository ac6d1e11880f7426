using Google.Protobuf;
using Microscope.Onnx.Gradients;
using Microscope.Onnx.Proto;
using Microsoft.ML.OnnxRuntime;

namespace Microscope.Inference;

/// <summary>
/// Which device sessions really get: creates and runs a one-op session (Relu on four numbers) with
/// the factory's settings, so that a missing CUDA library is found, and reported once, when a render
/// silo starts rather than at its first render. Refusing (RequireDevice) throws
/// <see cref="DeviceUnavailableException"/>.
/// </summary>
public static class DeviceProbe
{
    public static ExecutionDevice Probe(SessionFactory factory)
    {
        if (!factory.Settings.Device.IsCuda)
        {
            return factory.Settings.Device;
        }

        using var session = factory.Create(ReluModel(), "the device probe");
        using var input = OrtValue.CreateTensorValueFromMemory(new float[] { -1, 0, 1, 2 }, [1, 4]);
        using var options = new RunOptions();
        using var outputs = session.Session.Run(options, ["x"], [input], ["y"]);
        return session.Device;
    }

    private static byte[] ReluModel()
    {
        var graph = new GraphProto { Name = "device-probe" };
        graph.Input.Add(GradientBuilder.TensorInfo("x", TensorProto.Types.DataType.Float, 1, 4));
        graph.Output.Add(GradientBuilder.TensorInfo("y", TensorProto.Types.DataType.Float, 1, 4));
        graph.Node.Add(new NodeProto { OpType = "Relu", Input = { "x" }, Output = { "y" } });
        var model = new ModelProto { IrVersion = 8, ProducerName = "microscope", Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 13 });
        return model.ToByteArray();
    }
}
