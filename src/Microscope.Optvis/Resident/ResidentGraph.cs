using Microscope.Onnx;
using Microscope.Onnx.Gradients;
using Microscope.Onnx.Proto;
using Microscope.Optvis.Param;
using Microscope.Optvis.Transforms;
using DataType = Microscope.Onnx.Proto.TensorProto.Types.DataType;

namespace Microscope.Optvis.Resident;

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
                var re = g.Mul(g.Node("Gather", [ResidentNames.Parameters, g.IntScalar(0)], NodeAttributes.IntAttribute("axis", 4)), fourierScale);
                var im = g.Mul(g.Node("Gather", [ResidentNames.Parameters, g.IntScalar(1)], NodeAttributes.IntAttribute("axis", 4)), fourierScale);
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
                PadStage pad => ResidentStages.Pad(g, current, pad),
                CropStage => ResidentStages.Crop(g, current, i),
                AffineStage => ResidentStages.Resample(g, current, i),
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
                NodeAttributes.IntAttribute("axis", -1));
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

    /// <summary>An emitter of fresh names under <c>resident/</c> for nodes that join <paramref name="graph"/> (the caller adds them).</summary>
    internal static GraphEmitter Emitter(GraphProto graph) => new("resident/", GraphEmitter.NamesIn(graph), nodePrefix: "resident/node/");
}
