using Microscope.Onnx.Gradients;
using Microscope.Optvis;

namespace Microscope.Lenses;

/// <summary>
/// What a feature-visualization pass needs in device memory: a fixed part (the session and the
/// graph's weights, held once per pass whatever the batch) and a part per image. Estimated from the built gradient graph
/// and the render's sizes, never measured during a render; the factors below are calibrated against
/// measured peaks on CPU (<c>bench/run render-memory</c>, docs/benchmarks.md) so that the estimate is
/// not below what was measured. They are upper bounds from one model and one runtime, not a model of
/// ONNX Runtime's allocator: a new kind of model should be measured again.
/// </summary>
/// <param name="WeightBytes">The gradient graph's weights (initializers), in bytes.</param>
/// <param name="ForwardElements">Per image: the forward tensors the reverse pass reads (<see cref="GradientModel.ForwardElementsPerImage"/>).</param>
/// <param name="LoopElements">Per image: the render loop's own state (<see cref="LoopElementsPerImage"/>).</param>
public sealed record RenderMemory(long WeightBytes, long ForwardElements, long LoopElements)
{
    /// <summary>Renders run in float.</summary>
    public const int BytesPerElement = sizeof(float);

    /// <summary>
    /// Gradients of the kept activations: at most one per activation (a gradient is freed once the
    /// rule before it has read it, so fewer are live at once; one is the safe count).
    /// </summary>
    public const double GradientsPerActivation = 1;

    /// <summary>
    /// Multiplies activations and their gradients for what ONNX Runtime allocates beside them:
    /// convolution workspaces (im2col on CPU, cuDNN's on CUDA), the backward pass's temporaries and
    /// the arena's rounding. On CPU a pass grew by 1.2 to 1.8 times its kept activations per image,
    /// under the 2 that activations and gradients alone give, so 1 already covered every
    /// measurement; 1.5 leaves room for what CPU cannot show: cuDNN's convolution workspaces, which
    /// ONNX Runtime lets grow (cudnn_conv_use_max_workspace). Measure on a GPU before lowering it.
    /// </summary>
    public const double WorkspaceFactor = 1.5;

    /// <summary>
    /// Copies of the weights a session holds: the model bytes it was given and its initialized
    /// tensors (CPU pre-packs convolution weights into a further layout; CUDA keeps the device copy).
    /// </summary>
    public const double WeightCopies = 3;

    /// <summary>
    /// A session's own memory whatever the model: kernels, the execution plan, thread pools and the
    /// arena's first chunk. A pass of one image at resnet18's layer1.0.relu (2 MB of weights) grew by
    /// 75 MB on CPU, about 40 MB of it the image; rounded up.
    /// </summary>
    public const long SessionBytes = 64L << 20;

    /// <summary>
    /// Buffers per parameter the device-resident loop keeps per image: the parameters, Adam's m and
    /// v, each twice (ping-pong: a step reads one and writes the other).
    /// </summary>
    public const int ParameterBuffers = 6;

    /// <summary>
    /// Network-size images per image in the transform chain: its intermediates (pad, jitter, scale,
    /// rotate, resample to the network size) and their gradients, each 3·N².
    /// </summary>
    public const int TransformImages = 6;

    public long BytesPerImage => (long)(BytesPerElement * ((ForwardElements * (1 + GradientsPerActivation) * WorkspaceFactor) + LoopElements));

    public long FixedBytes => SessionBytes + (long)(WeightBytes * WeightCopies);

    /// <summary>The estimate for a pass of <paramref name="images"/> images.</summary>
    public long PassBytes(int images) => FixedBytes + (images * BytesPerImage);

    /// <summary>The estimate for a render of <paramref name="model"/> (built at the network size) with <paramref name="options"/>.</summary>
    public static RenderMemory Of(GradientModel model, RenderOptions options) =>
        new(model.Model.Graph.Initializer.Sum(t => WeightBytesOf(t)), model.ForwardElementsPerImage,
            LoopElementsPerImage(options.Size, options.NetworkSize ?? options.Size, options.Fourier));

    /// <summary>
    /// The loop's state per image, in elements: <see cref="ParameterBuffers"/> × the parameters
    /// (Fourier: 3·S·(S/2+1) complex coefficients, two floats each; pixels: 3·S²), the image at render
    /// size (3·S²) and <see cref="TransformImages"/> × 3·N².
    /// </summary>
    public static long LoopElementsPerImage(int size, int network, bool fourier)
    {
        long parameters = fourier ? 3L * size * ((size / 2) + 1) * 2 : 3L * size * size;
        return (ParameterBuffers * parameters) + (3L * size * size) + (TransformImages * 3L * network * network);
    }

    private static long WeightBytesOf(Onnx.Proto.TensorProto tensor)
    {
        var elements = tensor.Dims.Aggregate(1L, (a, d) => a * d);
        return tensor.DataType == (int)Onnx.Proto.TensorProto.Types.DataType.Double || tensor.DataType == (int)Onnx.Proto.TensorProto.Types.DataType.Int64
            ? elements * 8
            : elements * 4;
    }
}
