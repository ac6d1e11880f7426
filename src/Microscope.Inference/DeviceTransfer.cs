using Microscope.Onnx.Proto;
using Microsoft.ML.OnnxRuntime;
using DataType = Microscope.Onnx.Proto.TensorProto.Types.DataType;

namespace Microscope.Inference;

/// <summary>
/// Copies float tensors between the host and a session's device through a one-node Identity graph
/// run with IO binding: host → device binds the input in CPU memory and the output on the device,
/// device → host the other way round. Values it uploads are owned by the caller and live on the
/// device (CUDA memory under CUDA, CPU memory otherwise) until disposed.
/// </summary>
public sealed class DeviceTransfer : IDisposable
{
    private const string Input = "host";
    private const string Output = "device";
    private readonly OnnxSession session;
    private readonly RunOptions options = new();

    public DeviceTransfer(SessionFactory sessions)
    {
        session = sessions.Create(IdentityModel(), "device transfer graph");
    }

    /// <summary>A new device tensor holding <paramref name="data"/>.</summary>
    public OrtValue Upload(float[] data, long[] shape)
    {
        using var binding = session.Session.CreateIoBinding();
        using var host = OrtValue.CreateTensorValueFromMemory(data, shape);
        binding.BindInput(Input, host);
        binding.BindOutputToDevice(Output, session.DeviceMemory);
        session.Session.RunWithBinding(options, binding);

        // The returned values are the caller's own (the list holds nothing else to release).
        return binding.GetOutputValues().Single();
    }

    /// <summary>Copies a device tensor of floats into <paramref name="target"/> (its length must match).</summary>
    public void Download(OrtValue value, float[] target)
    {
        var shape = value.GetTensorTypeAndShape().Shape;
        using var binding = session.Session.CreateIoBinding();
        using var host = OrtValue.CreateTensorValueFromMemory(target, shape);
        binding.BindInput(Input, value);
        binding.BindOutput(Output, host);
        session.Session.RunWithBinding(options, binding);
        binding.SynchronizeBoundOutputs();
    }

    public void Dispose()
    {
        options.Dispose();
        session.Dispose();
    }

    private static byte[] IdentityModel()
    {
        var tensor = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)DataType.Float } };
        var graph = new GraphProto { Name = "microscope-device-transfer" };
        graph.Node.Add(new NodeProto { OpType = "Identity", Name = "copy", Input = { Input }, Output = { Output } });
        graph.Input.Add(new ValueInfoProto { Name = Input, Type = tensor });
        graph.Output.Add(new ValueInfoProto { Name = Output, Type = tensor.Clone() });
        var model = new ModelProto { IrVersion = 8, ProducerName = "microscope", Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        return Onnx.OnnxModelFile.ToBytes(model);
    }
}
