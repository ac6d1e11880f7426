using Microscope.Inference;
using Microscope.Onnx;
using Microscope.Onnx.Gradients;
using Microscope.Onnx.Proto;
using Microsoft.ML.OnnxRuntime;
using DataType = Microscope.Onnx.Proto.TensorProto.Types.DataType;

namespace Microscope.Optvis.Resident;

/// <summary>
/// DeepDream's octave loop with the image on the device: one ONNX graph per step rolls the image by
/// a fed shift, runs the layer's gradient graph, rolls the gradient back, and takes the normalized
/// step (image + step size × gradient / mean |gradient|, clipped to [0, 1]). Within an octave the
/// image stays in device memory, bound in turn to a step's input and the next step's output; it
/// goes up once at the start of each octave (the seed grown with the detail so far, computed on the
/// host as <see cref="DeepDream"/> does) and comes down once at its end.
/// </summary>
public static class ResidentDream
{
    private const string Image = "dream/image";
    private const string Shift = "dream/shift";
    private const string StepSize = "dream/step_size";
    private const string NextImage = "dream/image_next";

    /// <summary>The step graph of <paramref name="model"/> (built with the L2 term), for images of any square size.</summary>
    public static ModelProto Graph(GradientModel model)
    {
        var built = model.Model.Clone();
        var graph = built.Graph;
        var g = ResidentGraph.Emitter(graph);

        // Indices (r − d) mod S along each axis roll by d; (r + d) mod S rolls back.
        var side = g.Node("Squeeze", [g.Node("Slice", [g.Node("Shape", [Image]), g.Ints(2), g.Ints(3)]), g.Ints(0)]);
        var range = g.Node("Range", [g.IntScalar(0), side, g.IntScalar(1)]);
        string Shifted(int axis, bool back)
        {
            var d = g.Node("Gather", [Shift, g.IntScalar(axis)]);
            return g.Node("Mod", [g.Node(back ? "Add" : "Sub", [range, d]), side]);
        }

        string Roll(string tensor, bool back) => g.Node("Gather",
            [g.Node("Gather", [tensor, Shifted(0, back)], NodeAttributes.IntAttribute("axis", 2)), Shifted(1, back)], NodeAttributes.IntAttribute("axis", 3));
        g.Node("Identity", [Roll(Image, back: false)], VisionGraph.ImageInput);
        var gradient = Roll(ObjectiveNames.ImageGradient, back: true);
        var mean = g.Node("Add", [g.Node("ReduceMean", [g.Node("Abs", [gradient])], NodeAttributes.IntAttribute("keepdims", 0)), g.FloatScalar(1e-8)]);
        var moved = g.Node("Add", [Image, g.Node("Div", [g.Mul(gradient, StepSize), mean])]);
        g.Node("Clip", [moved, g.FloatScalar(0), g.FloatScalar(1)], NextImage);

        var objectiveInputs = graph.Input.Where(i => i.Name != VisionGraph.ImageInput).ToList();
        var imageInfo = graph.Input.Single(i => i.Name == VisionGraph.ImageInput).Clone();
        imageInfo.Name = Image;
        graph.Input.Clear();
        graph.Input.Add(imageInfo);
        graph.Input.Add(GradientBuilder.TensorInfo(Shift, DataType.Int64, 2));
        graph.Input.Add(GradientBuilder.TensorInfo(StepSize, DataType.Float));
        graph.Input.Add(objectiveInputs);
        var objective = graph.Output.Single(o => o.Name == ObjectiveNames.Objective);
        var next = imageInfo.Clone();
        next.Name = NextImage;
        graph.Output.Clear();
        graph.Output.Add(objective);
        graph.Output.Add(next);
        graph.Node.Add(g.Nodes);
        graph.Initializer.Add(g.Initializers);
        return built;
    }

    /// <summary>Dreams as <see cref="DeepDream.Dream"/> does, with each octave's image kept on the device.</summary>
    public static float[] Dream(GradientModel model, SessionFactory sessions, float[] seed, int size, DreamOptions options, IProgress<RenderProgress>? progress = null, CancellationToken cancellation = default)
    {
        using var session = sessions.Create(OnnxModelFile.ToBytes(Graph(model)), "device-resident deepdream graph");
        using var transfer = new DeviceTransfer(sessions);
        using var binding = session.Session.CreateIoBinding();
        using var runOptions = new RunOptions();
        using var l2 = transfer.Upload([1f], [1]);
        var shift = new long[2];
        var stepSize = new[] { (float)options.StepSize };
        var objective = new float[1];
        using var shiftValue = OrtValue.CreateTensorValueFromMemory(shift, [2]);
        using var stepValue = OrtValue.CreateTensorValueFromMemory(stepSize, []);
        using var objectiveValue = OrtValue.CreateTensorValueFromMemory(objective, [1]);
        binding.BindInput(ObjectiveNames.L2Weight, l2);
        binding.BindInput(Shift, shiftValue);
        binding.BindInput(StepSize, stepValue);

        var random = new Random(options.Seed);
        var total = DeepDream.Octaves(size, options).Count * options.StepsPerOctave;
        var done = 0;
        return DeepDream.OverOctaves(seed, size, options, (start, octave) =>
        {
            long[] shape = [1, 3, octave, octave];
            var current = transfer.Upload(start, shape);
            OrtValue? spare = null;
            try
            {
                for (var step = 0; step < options.StepsPerOctave; step++)
                {
                    cancellation.ThrowIfCancellationRequested();
                    (shift[1], shift[0]) = DeepDream.DrawShift(random, options);
                    binding.BindInput(Image, current);
                    binding.ClearBoundOutputs();
                    binding.BindOutput(ObjectiveNames.Objective, objectiveValue);
                    if (spare is null)
                    {
                        binding.BindOutputToDevice(NextImage, session.DeviceMemory);
                    }
                    else
                    {
                        binding.BindOutput(NextImage, spare);
                    }

                    session.Session.RunWithBinding(runOptions, binding);
                    binding.SynchronizeBoundOutputs();
                    var next = spare ?? TakeNext(binding);
                    (current, spare) = (next, current);
                    progress?.Report(new RenderProgress(++done, total, objective[0]));
                }

                var image = new float[3 * octave * octave];
                transfer.Download(current, image);
                return image;
            }
            finally
            {
                current.Dispose();
                spare?.Dispose();
            }
        });
    }

    /// <summary>The device tensor ONNX Runtime allocated for the next image (the objective's is a view of ours, released).</summary>
    private static OrtValue TakeNext(OrtIoBinding binding)
    {
        var values = binding.GetOutputNames().Zip(binding.GetOutputValues()).ToList();
        foreach (var (name, value) in values.Where(v => v.First != NextImage))
        {
            value.Dispose();
        }

        return values.Single(v => v.First == NextImage).Second;
    }
}
