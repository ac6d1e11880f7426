using Microsoft.ML.OnnxRuntime;

namespace Microscope.Inference;

/// <summary>
/// Runs one session over and over with the same float32 buffers, bound once with ONNX Runtime's IO
/// binding: no tensor is allocated or copied per run. Callers write inputs and read outputs through
/// <see cref="Input"/> and <see cref="Output"/>; the spans stay valid until the run is disposed.
/// (Outputs live in managed memory, so on CUDA ONNX Runtime copies them back each run.)
/// </summary>
public sealed class BoundRun : IDisposable
{
    private readonly InferenceSession session;
    private readonly OrtIoBinding binding;
    private readonly RunOptions options = new();
    private readonly Dictionary<string, (float[] Data, OrtValue Value)> buffers = new(StringComparer.Ordinal);

    /// <param name="inputs">Input names and shapes (every dimension fixed).</param>
    /// <param name="outputs">Output names and shapes.</param>
    public BoundRun(InferenceSession session, IReadOnlyDictionary<string, long[]> inputs, IReadOnlyDictionary<string, long[]> outputs)
    {
        this.session = session;
        binding = session.CreateIoBinding();
        foreach (var (name, shape) in inputs)
        {
            binding.BindInput(name, Allocate(name, shape));
        }

        foreach (var (name, shape) in outputs)
        {
            binding.BindOutput(name, Allocate(name, shape));
        }
    }

    public Span<float> Input(string name) => buffers[name].Data;

    public ReadOnlySpan<float> Output(string name) => buffers[name].Data;

    public void Run() => session.RunWithBinding(options, binding);

    public void Dispose()
    {
        binding.Dispose();
        options.Dispose();
        foreach (var (_, value) in buffers.Values)
        {
            value.Dispose();
        }
    }

    private OrtValue Allocate(string name, long[] shape)
    {
        var data = new float[shape.Aggregate(1L, (a, b) => a * b)];
        var value = OrtValue.CreateTensorValueFromMemory(data, shape);
        buffers[name] = (data, value);
        return value;
    }
}
