using Microscope.Onnx;
using Microscope.Onnx.Gradients;
using Microsoft.ML.OnnxRuntime;
using DataType = Microscope.Onnx.Proto.TensorProto.Types.DataType;

namespace Microscope.Inference;

/// <summary>Objective per image and d(Σ objective)/d(image) from one run.</summary>
public sealed record GradientResult(double[] Objective, double[] Gradient, double[]? Activations, long[] LayerShape);

/// <summary>
/// Runs a built gradient graph on ONNX Runtime. The element type (float, or double in tests) is
/// taken from the graph; values are handed in and out as doubles so callers need not care.
/// </summary>
public sealed class GradientSession : IDisposable
{
    private readonly OnnxSession session;
    private readonly DataType elementType;

    public GradientSession(GradientModel model, SessionFactory sessions)
    {
        Model = model;
        elementType = (DataType)model.Model.Graph.Input[0].Type.TensorType.ElemType;
        session = sessions.Create(OnnxModelFile.ToBytes(model.Model), "gradient graph");
    }

    public GradientModel Model { get; }

    public ExecutionDevice Device => session.Device;

    /// <param name="image">N×3×H×W, RGB in [0, 1].</param>
    /// <param name="reluRedirect">Lucid's redirected Relu gradient; only for a graph built with <see cref="GradientRequest.ReluRedirect"/>.</param>
    public GradientResult Run(double[] image, int batch, int height, int width, ObjectiveParameters parameters, bool reluRedirect = false)
    {
        if (reluRedirect && !Model.Request.ReluRedirect)
        {
            throw new ArgumentException("the gradient graph was built without the relu_redirect switch.", nameof(reluRedirect));
        }

        var names = new List<string> { VisionGraph.ImageInput };
        var values = new List<OrtValue> { Tensor(image, [batch, 3, height, width]) };
        var terms = Model.Request.Terms;
        var layerShape = terms.HasFlag(ObjectiveTerms.Linear) ? parameters.LayerShape ?? Model.LayerShape : Model.LayerShape;
        try
        {
            foreach (var (name, inputShape, data) in parameters.Inputs(terms, batch, Model.LayerShape))
            {
                names.Add(name);
                values.Add(Tensor(data, inputShape));
            }

            if (Model.Request.ReluRedirect)
            {
                names.Add(ObjectiveNames.ReluRedirect);
                values.Add(Tensor([reluRedirect ? 1 : 0], []));
            }

            string[] outputs = Model.Request.IncludeActivations
                ? [ObjectiveNames.Objective, ObjectiveNames.ImageGradient, Model.Request.LayerTensor]
                : [ObjectiveNames.Objective, ObjectiveNames.ImageGradient];
            using var runOptions = new RunOptions();
            using var results = session.Session.Run(runOptions, names, values, outputs);
            var activations = outputs.Length > 2 ? Read(results[2]) : null;
            var shape = outputs.Length > 2 ? results[2].GetTensorTypeAndShape().Shape[1..] : layerShape;
            return new GradientResult(Read(results[0]), Read(results[1]), activations, shape);
        }
        finally
        {
            foreach (var value in values)
            {
                value.Dispose();
            }
        }
    }

    private OrtValue Tensor(double[] data, long[] shape) => elementType == DataType.Double
        ? OrtValue.CreateTensorValueFromMemory(data, shape)
        : OrtValue.CreateTensorValueFromMemory(data.Select(v => (float)v).ToArray(), shape);

    private double[] Read(OrtValue value) => elementType == DataType.Double
        ? value.GetTensorDataAsSpan<double>().ToArray()
        : [.. value.GetTensorDataAsSpan<float>().ToArray().Select(v => (double)v)];

    public void Dispose() => session.Dispose();
}
