using Microscope.Onnx;
using Microscope.Onnx.Gradients;
using Microscope.Onnx.Proto;
using Microscope.Optvis.Param;
using Microscope.Optvis.Transforms;
using DataType = Microscope.Onnx.Proto.TensorProto.Types.DataType;

namespace Microscope.Optvis.Resident;

/// <summary>The inputs and outputs of a <see cref="ResidentGraph"/>.</summary>
public static class ResidentNames
{
    public const string Parameters = "resident/params";
    public const string AdamM = "resident/adam_m";
    public const string AdamV = "resident/adam_v";

    /// <summary>Scalar: the learning rate over Adam's first bias correction, lr / (1 − β₁ᵗ).</summary>
    public const string StepSize = "resident/step_size";

    /// <summary>Scalar: one over Adam's second bias correction, 1 / (1 − β₂ᵗ).</summary>
    public const string VarianceScale = "resident/variance_scale";

    public const string NextParameters = "resident/params_next";
    public const string NextAdamM = "resident/adam_m_next";
    public const string NextAdamV = "resident/adam_v_next";

    /// <summary>The images of the current parameters (N×3×S×S, RGB in [0, 1]).</summary>
    public const string Image = "resident/image";

    /// <summary>d(Σ objective)/d(parameters), output only when the graph is built to expose it (tests).</summary>
    public const string ParameterGradient = "resident/params_grad";

    public static string CropStart(int stage) => $"resident/stage{stage}/crop_start";

    public static string CropEnd(int stage) => $"resident/stage{stage}/crop_end";

    public static string CropPads(int stage) => $"resident/stage{stage}/crop_pads";

    public static string Affine(int stage) => $"resident/stage{stage}/affine";

    public static string Size(int stage) => $"resident/stage{stage}/size";
}

/// <summary>
/// One optimization step as one ONNX graph, so that the parameters, Adam's moments, the image and
/// every gradient stay where the session runs (on the GPU under CUDA) from the first step to the
/// last: parameters → image (the Fourier parameterization as matrix products with DFT matrices, the
/// colour decorrelation, the sigmoid) → the drawn transforms (pad, crops and bilinear affine
/// resamplings as gathers) → the model's built gradient graph → the adjoints of all of that (the
/// resamplings' as scatter-adds) → an Adam step up the gradient. Each step feeds only a few numbers:
/// the transform draw and Adam's bias corrections. The stage kinds are fixed by the pipeline; their
/// parameters are inputs. The host loop (<see cref="Renderer"/>) computes the same maps on the CPU.
/// </summary>
public sealed class ResidentGraph
{
    public const double Beta1 = 0.9;
    public const double Beta2 = 0.999;
    public const double Epsilon = 1e-8;

    private ResidentGraph(ModelProto model, IReadOnlyList<DeviceStage> stages, long[] parameterShape)
    {
        (Model, Stages, ParameterShape) = (model, stages, parameterShape);
    }

    public ModelProto Model { get; }

    /// <summary>The stages in order, the last one the resize to the network's input size.</summary>
    public IReadOnlyList<DeviceStage> Stages { get; }

    /// <summary>The parameters' shape for a batch of one (the first dimension is the batch).</summary>
    public long[] ParameterShape { get; }

    /// <summary>Builds the step graph of <paramref name="gradient"/> for images of <paramref name="parameterization"/>'s kind and size.</summary>
    /// <param name="stages">The pipeline's stages as one draw gives them (pads are fixed; crops and affine maps are inputs).</param>
    /// <param name="network">The side of the model's input.</param>
    /// <param name="exposeGradient">Also output d(Σ objective)/d(parameters).</param>
    public static ResidentGraph Build(GradientModel gradient, IImageParameterization parameterization, IReadOnlyList<DeviceStage> stages, int network, bool exposeGradient = false)
    {
        var imageInput = gradient.Model.Graph.Input.First(i => i.Name == VisionGraph.ImageInput);
        if ((DataType)imageInput.Type.TensorType.ElemType != DataType.Float)
        {
            throw new ModelFormatException("the device-resident render loop runs float32 graphs only.");
        }

        var model = gradient.Model.Clone();
        var graph = model.Graph;
        var g = Emitter(graph);
        var (height, width) = (parameterization.Height, parameterization.Width);
        long[] parameterShape;
        string raw;
        string? fourierScale = null;
        FourierMatrices? dft = null;
        bool decorrelate;
        switch (parameterization)
        {
            case FourierImage fourier:
                parameterShape = [1, 3, height, fourier.Frequencies, 2];
                dft = new FourierMatrices(height, width, fourier.Frequencies, g);
                fourierScale = g.Floats([height, fourier.Frequencies], fourier.Scale.ToArray());
                var re = g.Mul(g.Node("Gather", [ResidentNames.Parameters, g.IntScalar(0)], Attr.Int("axis", 4)), fourierScale);
                var im = g.Mul(g.Node("Gather", [ResidentNames.Parameters, g.IntScalar(1)], Attr.Int("axis", 4)), fourierScale);
                raw = dft.Inverse(re, im);
                decorrelate = fourier.Decorrelated;
                break;
            case PixelImage pixels:
                parameterShape = [1, 3, height, width];
                raw = ResidentNames.Parameters;
                decorrelate = pixels.Decorrelated;
                break;
            default:
                throw new ArgumentException($"the device-resident loop has no form of {parameterization.GetType().Name}.", nameof(parameterization));
        }

        // Colour: rgb = sigmoid(C · raw) per pixel.
        var decorrelation = g.Floats([3, 3], [.. Enumerable.Range(0, 9).Select(i => ColorSpace.Decorrelation[i / 3, i % 3])]);
        var decorrelationT = g.Floats([3, 3], [.. Enumerable.Range(0, 9).Select(i => ColorSpace.Decorrelation[i % 3, i / 3])]);
        var rawFlat = g.Node("Reshape", [raw, g.Ints(0, 3, -1)]);
        var rgbFlat = g.Node("Sigmoid", [decorrelate ? g.Node("MatMul", [decorrelation, rawFlat]) : rawFlat]);
        var imageShape = g.Ints(0, 3, height, width);
        g.Node("Reshape", [rgbFlat, imageShape], output: ResidentNames.Image);

        // The transforms, then the resize to the network's size; each stage remembers its adjoint.
        var all = stages.Append(AffineStage.Resize(height, width, network, network)).ToList();
        var current = ResidentNames.Image;
        var adjoints = new List<Func<string, string>>();
        for (var i = 0; i < all.Count; i++)
        {
            var isLast = i == all.Count - 1;
            var (output, adjoint) = all[i] switch
            {
                PadStage pad => Pad(g, current, pad),
                CropStage => Crop(g, current, i),
                AffineStage => Resample(g, current, i),
                _ => throw new ArgumentException($"stage {i} ({all[i].GetType().Name}) has no device form.", nameof(stages)),
            };
            adjoints.Add(adjoint);
            current = output;
            if (isLast)
            {
                g.Node("Identity", [output], output: VisionGraph.ImageInput);
            }
        }

        // Back from the network's input to the image, through every stage's adjoint.
        var gradientFlow = ObjectiveNames.ImageGradient;
        for (var i = adjoints.Count - 1; i >= 0; i--)
        {
            gradientFlow = adjoints[i](gradientFlow);
        }

        // Back through the colour map: d(raw) = Cᵀ · (d(rgb) ⊙ rgb ⊙ (1 − rgb)).
        var dRgb = g.Node("Reshape", [gradientFlow, g.Ints(0, 3, -1)]);
        var dPre = g.Mul(dRgb, g.Mul(rgbFlat, g.Node("Sub", [g.FloatScalar(1), rgbFlat])));
        var dRawFlat = decorrelate ? g.Node("MatMul", [decorrelationT, dPre]) : dPre;
        var dRaw = g.Node("Reshape", [dRawFlat, imageShape]);
        string dParameters;
        if (dft is not null)
        {
            var (dRe, dIm) = dft.Adjoint(dRaw);
            dParameters = g.Node("Concat",
                [g.Node("Unsqueeze", [g.Mul(dRe, fourierScale!), g.Ints(-1)]), g.Node("Unsqueeze", [g.Mul(dIm, fourierScale!), g.Ints(-1)])],
                Attr.Int("axis", -1));
        }
        else
        {
            dParameters = dRaw;
        }

        if (exposeGradient)
        {
            g.Node("Identity", [dParameters], output: ResidentNames.ParameterGradient);
        }

        // Adam, climbing: m ← β₁m + (1 − β₁)g; v ← β₂v + (1 − β₂)g²; p ← p + (lr/c₁)·m / (√(v/c₂) + ε).
        var m = g.Node("Add", [g.Mul(ResidentNames.AdamM, g.FloatScalar(Beta1)), g.Mul(dParameters, g.FloatScalar(1 - Beta1))], output: ResidentNames.NextAdamM);
        var v = g.Node("Add", [g.Mul(ResidentNames.AdamV, g.FloatScalar(Beta2)), g.Mul(g.Mul(dParameters, dParameters), g.FloatScalar(1 - Beta2))], output: ResidentNames.NextAdamV);
        var denominator = g.Node("Add", [g.Node("Sqrt", [g.Mul(v, ResidentNames.VarianceScale)]), g.FloatScalar(Epsilon)]);
        g.Node("Add", [ResidentNames.Parameters, g.Node("Div", [g.Mul(m, ResidentNames.StepSize), denominator])], output: ResidentNames.NextParameters);

        // Inputs and outputs: the image is now computed inside; the objective's parameters stay inputs.
        var objectiveInputs = graph.Input.Where(i => i.Name != VisionGraph.ImageInput).ToList();
        graph.Input.Clear();
        object[] parameterDims = [.. parameterShape.Select((d, i) => i == 0 ? (object)"batch" : d)];
        graph.Input.Add(GradientBuilder.TensorInfo(ResidentNames.Parameters, DataType.Float, parameterDims));
        graph.Input.Add(GradientBuilder.TensorInfo(ResidentNames.AdamM, DataType.Float, parameterDims));
        graph.Input.Add(GradientBuilder.TensorInfo(ResidentNames.AdamV, DataType.Float, parameterDims));
        graph.Input.Add(GradientBuilder.TensorInfo(ResidentNames.StepSize, DataType.Float));
        graph.Input.Add(GradientBuilder.TensorInfo(ResidentNames.VarianceScale, DataType.Float));
        for (var i = 0; i < all.Count; i++)
        {
            if (all[i] is CropStage)
            {
                graph.Input.Add(GradientBuilder.TensorInfo(ResidentNames.CropStart(i), DataType.Int64, 2));
                graph.Input.Add(GradientBuilder.TensorInfo(ResidentNames.CropEnd(i), DataType.Int64, 2));
                graph.Input.Add(GradientBuilder.TensorInfo(ResidentNames.CropPads(i), DataType.Int64, 8));
            }
            else if (all[i] is AffineStage)
            {
                graph.Input.Add(GradientBuilder.TensorInfo(ResidentNames.Affine(i), DataType.Float, 6));
                graph.Input.Add(GradientBuilder.TensorInfo(ResidentNames.Size(i), DataType.Int64, 2));
            }
        }

        graph.Input.Add(objectiveInputs);
        graph.Output.Clear();
        graph.Output.Add(GradientBuilder.TensorInfo(ObjectiveNames.Objective, DataType.Float, "batch"));
        graph.Output.Add(GradientBuilder.TensorInfo(ResidentNames.NextParameters, DataType.Float, parameterDims));
        graph.Output.Add(GradientBuilder.TensorInfo(ResidentNames.NextAdamM, DataType.Float, parameterDims));
        graph.Output.Add(GradientBuilder.TensorInfo(ResidentNames.NextAdamV, DataType.Float, parameterDims));
        graph.Output.Add(GradientBuilder.TensorInfo(ResidentNames.Image, DataType.Float, "batch", 3, height, width));
        if (exposeGradient)
        {
            graph.Output.Add(GradientBuilder.TensorInfo(ResidentNames.ParameterGradient, DataType.Float, parameterDims));
        }

        graph.Node.Add(g.Nodes);
        graph.Initializer.Add(g.Initializers);
        graph.Name = "microscope-resident-step";
        model.ProducerName = "microscope-resident-loop";
        return new ResidentGraph(model, all, parameterShape);
    }

    /// <summary>Constant padding; its adjoint crops the padding away.</summary>
    private static (string, Func<string, string>) Pad(GraphEmitter g, string x, PadStage pad)
    {
        long p = pad.Pixels;
        var output = g.Node("Pad", [x, g.Ints(0, 0, p, p, 0, 0, p, p), g.FloatScalar(pad.Value)], Attr.Text("mode", "constant"));
        return (output, dy => p == 0 ? dy : g.Node("Slice", [dy, g.Ints(p, p), g.Ints(-p, -p), g.Ints(2, 3)]));
    }

    /// <summary>A crop from fed bounds; its adjoint pads the gradient back with zeros by fed amounts.</summary>
    private static (string, Func<string, string>) Crop(GraphEmitter g, string x, int stage)
    {
        var output = g.Node("Slice", [x, ResidentNames.CropStart(stage), ResidentNames.CropEnd(stage), g.Ints(2, 3)]);
        return (output, dy => g.Node("Pad", [dy, ResidentNames.CropPads(stage)], Attr.Text("mode", "constant")));
    }

    /// <summary>
    /// Bilinear resampling through a fed affine map to a fed size, as the host's <see cref="Bilinear"/>
    /// computes it: each output pixel gathers its four neighbours (weight 0 outside the input), and the
    /// adjoint scatter-adds the gradient back with the same indices and weights.
    /// </summary>
    private static (string, Func<string, string>) Resample(GraphEmitter g, string x, int stage)
    {
        var affine = ResidentNames.Affine(stage);
        var size = ResidentNames.Size(stage);
        var shape = g.Node("Shape", [x]);
        var batchChannels = g.Node("Slice", [shape, g.Ints(0), g.Ints(2)]);
        var inHeight = g.Node("Slice", [shape, g.Ints(2), g.Ints(3)]);
        var inWidth = g.Node("Slice", [shape, g.Ints(3), g.Ints(4)]);
        var lastRow = g.Node("Sub", [g.Node("Cast", [inHeight], Attr.Int("to", (long)DataType.Float)), g.FloatScalar(1)]);
        var lastColumn = g.Node("Sub", [g.Node("Cast", [inWidth], Attr.Int("to", (long)DataType.Float)), g.FloatScalar(1)]);
        var widthF = g.Node("Add", [lastColumn, g.FloatScalar(1)]);

        // Pixel centres of the output, mapped into the input, less half a pixel (the host's convention).
        string Centres(int axis)
        {
            var count = g.Node("Gather", [size, g.IntScalar(axis)]);
            var range = g.Node("Range", [g.IntScalar(0), count, g.IntScalar(1)]);
            return g.Node("Add", [g.Node("Cast", [range], Attr.Int("to", (long)DataType.Float)), g.FloatScalar(0.5)]);
        }

        var ys = g.Node("Unsqueeze", [Centres(0), g.Ints(1)]);
        var xs = g.Node("Unsqueeze", [Centres(1), g.Ints(0)]);
        string Coefficient(int k) => g.Node("Gather", [affine, g.IntScalar(k)]);
        string Map(int first) => g.Node("Add",
        [
            g.Node("Add", [g.Mul(xs, Coefficient(first)), g.Mul(ys, Coefficient(first + 1))]),
            g.Node("Sub", [Coefficient(first + 2), g.FloatScalar(0.5)]),
        ]);
        var sx = Map(0);
        var sy = Map(3);
        var x0 = g.Node("Floor", [sx]);
        var y0 = g.Node("Floor", [sy]);
        var fx = g.Node("Sub", [sx, x0]);
        var fy = g.Node("Sub", [sy, y0]);
        var gx = g.Node("Sub", [g.FloatScalar(1), fx]);
        var gy = g.Node("Sub", [g.FloatScalar(1), fy]);
        var x1 = g.Node("Add", [x0, g.FloatScalar(1)]);
        var y1 = g.Node("Add", [y0, g.FloatScalar(1)]);
        var zero = g.FloatScalar(0);
        string Inside(string value, string last) => g.Node("And", [g.Node("GreaterOrEqual", [value, zero]), g.Node("LessOrEqual", [value, last])]);
        string Clamp(string value, string last) => g.Node("Max", [g.Node("Min", [value, last]), zero]);

        var weights = new List<string>();
        var indices = new List<string>();
        foreach (var (cx, cy, w) in new[] { (x0, y0, g.Mul(gx, gy)), (x1, y0, g.Mul(fx, gy)), (x0, y1, g.Mul(gx, fy)), (x1, y1, g.Mul(fx, fy)) })
        {
            var inside = g.Node("Cast", [g.Node("And", [Inside(cx, lastColumn), Inside(cy, lastRow)])], Attr.Int("to", (long)DataType.Float));
            weights.Add(g.Node("Reshape", [g.Mul(w, inside), g.Ints(-1)]));
            var flat = g.Node("Add", [g.Mul(Clamp(cy, lastRow), widthF), Clamp(cx, lastColumn)]);
            indices.Add(g.Node("Reshape", [g.Node("Cast", [flat], Attr.Int("to", (long)DataType.Int64)), g.Ints(-1)]));
        }

        // Indices and weights are the same for every image and channel (4 taps × output pixels): the
        // forward gathers along the flattened pixels with them as they are, so nothing per image but
        // the gathered values lives on; the adjoint expands the indices only while it scatters.
        var weight = g.Node("Concat", [.. weights], Attr.Int("axis", 0));
        var index = g.Node("Concat", [.. indices], Attr.Int("axis", 0));
        var flatInput = g.Node("Reshape", [x, g.Ints(0, 0, -1)]);
        var gathered = g.Mul(g.Node("Gather", [flatInput, index], Attr.Int("axis", 2)), weight);
        var summed = g.Node("ReduceSum", [g.Node("Reshape", [gathered, g.Ints(0, 0, 4, -1)]), g.Ints(2)], Attr.Int("keepdims", 0));
        var output = g.Node("Reshape", [summed, g.Node("Concat", [batchChannels, size], Attr.Int("axis", 0))]);

        return (output, dy =>
        {
            var flat = g.Node("Reshape", [dy, g.Ints(0, 0, -1)]);
            var updates = g.Mul(g.Node("Concat", [flat, flat, flat, flat], Attr.Int("axis", 2)), weight);
            var expanded = g.Node("Expand", [index, g.Node("Shape", [updates])]);
            var zerosShape = g.Node("Concat", [batchChannels, g.Node("Mul", [inHeight, inWidth])], Attr.Int("axis", 0));
            var zeros = g.Node("ConstantOfShape", [zerosShape], Attr.Tensor("value", Tensors.Float("zero", [1], [0f])));
            var scattered = g.Node("ScatterElements", [zeros, expanded, updates], Attr.Int("axis", 2), Attr.Text("reduction", "add"));
            return g.Node("Reshape", [scattered, shape]);
        });
    }

    /// <summary>
    /// The Fourier parameterization's inverse real 2-D DFT as matrix products, as <see cref="FourierImage"/>
    /// computes it with FFTs: B = E·A along y (E = e^(+2πi·y·y'/H), symmetric), then
    /// raw = Re(B)·Cc + Im(B)·Cs along x with Cc = w·cos, Cs = −w·sin (w = 1 for the DC and Nyquist
    /// frequencies, whose imaginary parts are dropped, else 2) and the 1/(4·H·W') normalization folded in.
    /// </summary>
    private sealed class FourierMatrices
    {
        private readonly GraphEmitter g;
        private readonly string ecos;
        private readonly string esin;
        private readonly string ccos;
        private readonly string csin;
        private readonly string ccosT;
        private readonly string csinT;

        public FourierMatrices(int height, int width, int frequencies, GraphEmitter g)
        {
            this.g = g;
            var fullWidth = 2 * (frequencies - 1);
            var (cosY, sinY) = (new float[height * height], new float[height * height]);
            for (var y = 0; y < height; y++)
            {
                for (var k = 0; k < height; k++)
                {
                    var angle = 2 * Math.PI * ((long)y * k % height) / height;
                    (cosY[(y * height) + k], sinY[(y * height) + k]) = ((float)Math.Cos(angle), (float)Math.Sin(angle));
                }
            }

            var norm = 1.0 / (4.0 * height * fullWidth);
            var (cosX, sinX) = (new float[frequencies * width], new float[frequencies * width]);
            for (var k = 0; k < frequencies; k++)
            {
                var edge = k == 0 || k == frequencies - 1;
                var weight = (edge ? 1.0 : 2.0) * norm;
                for (var x = 0; x < width; x++)
                {
                    var angle = 2 * Math.PI * ((long)k * x % fullWidth) / fullWidth;
                    cosX[(k * width) + x] = (float)(weight * Math.Cos(angle));
                    sinX[(k * width) + x] = edge ? 0f : (float)(-weight * Math.Sin(angle));
                }
            }

            ecos = g.Floats([height, height], cosY);
            esin = g.Floats([height, height], sinY);
            ccos = g.Floats([frequencies, width], cosX);
            csin = g.Floats([frequencies, width], sinX);
            ccosT = g.Floats([width, frequencies], Transpose(cosX, frequencies, width));
            csinT = g.Floats([width, frequencies], Transpose(sinX, frequencies, width));
        }

        /// <summary>raw (N×3×H×W) from the scaled spectrum's real and imaginary parts (N×3×H×F).</summary>
        public string Inverse(string re, string im)
        {
            var bRe = g.Node("Sub", [MatMul(ecos, re), MatMul(esin, im)]);
            var bIm = g.Node("Add", [MatMul(esin, re), MatMul(ecos, im)]);
            return g.Node("Add", [MatMul(bRe, ccos), MatMul(bIm, csin)]);
        }

        /// <summary>The adjoint: d(raw) → d(re), d(im) of the scaled spectrum.</summary>
        public (string Re, string Im) Adjoint(string dRaw)
        {
            var dbRe = MatMul(dRaw, ccosT);
            var dbIm = MatMul(dRaw, csinT);
            var dRe = g.Node("Add", [MatMul(ecos, dbRe), MatMul(esin, dbIm)]);
            var dIm = g.Node("Sub", [MatMul(ecos, dbIm), MatMul(esin, dbRe)]);
            return (dRe, dIm);
        }

        private string MatMul(string a, string b) => g.Node("MatMul", [a, b]);

        private static float[] Transpose(float[] values, int rows, int columns)
        {
            var result = new float[values.Length];
            for (var r = 0; r < rows; r++)
            {
                for (var c = 0; c < columns; c++)
                {
                    result[(c * rows) + r] = values[(r * columns) + c];
                }
            }

            return result;
        }
    }

    /// <summary>An emitter of fresh names under <c>resident/</c> for nodes that join <paramref name="graph"/> (the caller adds them).</summary>
    internal static GraphEmitter Emitter(GraphProto graph) => new("resident/", GraphEmitter.NamesIn(graph), nodePrefix: "resident/node/");

    private static class Attr
    {
        public static AttributeProto Int(string name, long value) => NodeAttributes.IntAttribute(name, value);

        public static AttributeProto Text(string name, string value) => NodeAttributes.StringAttribute(name, value);

        public static AttributeProto Tensor(string name, TensorProto value) => NodeAttributes.TensorAttribute(name, value);
    }
}
