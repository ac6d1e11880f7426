using Microscope.Inference;
using Microscope.Onnx.Gradients;
using Microscope.Testing;
using Microsoft.ML.OnnxRuntime;
using DataType = Microscope.Onnx.Proto.TensorProto.Types.DataType;

namespace Microscope.Onnx.Tests.Gradients;

/// <summary>
/// Checks a built gradient against central finite differences on a tiny random graph. The graph is
/// built in double precision where ONNX Runtime has double kernels for every op involved (forward
/// and backward), else in float32. Tolerances: double 1e-6; float32 2e-3, because an objective of
/// order 1 carries round-off of about 1e-7 relative, divided by a step of 1e-3 to 1e-4 and summed
/// over the graph's ops, while a wrong rule is off by far more (a missing term, a wrong sign or
/// transpose gives errors of order 1).
/// </summary>
internal static class GradientAssert
{
    public const double DoubleTolerance = 1e-6;
    public const double FloatTolerance = 2e-3;
    private static readonly double[] DoubleSteps = [1e-4, 1e-5, 1e-6];
    private static readonly double[] FloatSteps = [1e-2, 1e-3, 1e-4];

    /// <summary>
    /// Builds a model with <paramref name="body"/> (image N×3×H×W → the target layer), builds its
    /// gradient for a random linear objective over the whole layer, and checks it.
    /// </summary>
    /// <returns>The element type the check ran in.</returns>
    public static DataType Check(Func<TinyModel, string, string> body, int height = 6, int width = 6, int batch = 2, long opset = 17,
        ObjectiveTerms terms = ObjectiveTerms.Linear, int seed = 3, double? floatTolerance = null)
    {
        foreach (var type in new[] { DataType.Double, DataType.Float })
        {
            var m = new TinyModel(opset, seed, type);
            var image = m.Input(VisionGraph.ImageInput, -1, 3, -1, -1);
            var layer = body(m, image);
            m.Output(layer);
            GradientModel built;
            try
            {
                built = GradientBuilder.Build(m.Build(), height, width, new GradientRequest(layer, terms), ShapeProbes.OnCpu(height, width), "test");
            }
            catch (OnnxRuntimeException) when (type == DataType.Double)
            {
                continue; // the forward op has no double kernel
            }

            GradientSession session;
            try
            {
                session = new GradientSession(built, new SessionFactory(new SessionSettings { IntraOpThreads = 1 }));
            }
            catch (ModelFormatException) when (type == DataType.Double)
            {
                continue; // a backward op has no double kernel
            }

            using (session)
            {
                var random = new Random(seed);
                var pixels = Enumerable.Range(0, batch * 3 * height * width).Select(_ => random.NextDouble()).ToArray();
                var layerShape = built.LayerShape;
                var parameters = RandomParameters(random, batch, layerShape, terms);
                var result = GradientCheck.Run(session, pixels, batch, height, width, parameters, directions: 3,
                    steps: type == DataType.Double ? DoubleSteps : FloatSteps, seed: seed);
                var tolerance = type == DataType.Double ? DoubleTolerance : floatTolerance ?? FloatTolerance;
                Assert.False(result.Vacuous, "the gradient is zero everywhere: nothing was checked");
                Assert.True(result.MaxRelativeError <= tolerance,
                    $"{type}: max relative error {result.MaxRelativeError:E2} > {tolerance:E0}; directions: " +
                    string.Join("; ", result.Directions.Select(d => $"{d.Analytic:G6} vs {d.Numeric:G6} (step {d.Epsilon})")));
                return type;
            }
        }

        throw new InvalidOperationException("unreachable: float is always tried");
    }

    public static ObjectiveParameters RandomParameters(Random random, int batch, long[] layerShape, ObjectiveTerms terms)
    {
        var size = (int)layerShape.Aggregate(1L, (a, b) => a * b);
        var weights = terms.HasFlag(ObjectiveTerms.Linear) ? Enumerable.Range(0, batch * size).Select(_ => (random.NextDouble() * 2) - 1).ToArray() : null;
        var l2 = terms.HasFlag(ObjectiveTerms.L2) ? Enumerable.Range(0, batch).Select(_ => 0.5 + random.NextDouble()).ToArray() : null;
        return new ObjectiveParameters(weights, l2, terms.HasFlag(ObjectiveTerms.Diversity) ? 0.7 : 0, layerShape);
    }
}
