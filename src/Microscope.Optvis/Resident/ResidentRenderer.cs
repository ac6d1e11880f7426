using Microscope.Inference;
using Microscope.Onnx;
using Microscope.Onnx.Gradients;
using Microscope.Optvis.Transforms;
using Microsoft.ML.OnnxRuntime;

namespace Microscope.Optvis.Resident;

/// <summary>
/// The feature-visualization loop with its state on the device: the parameters, Adam's moments and
/// the objective's weights are uploaded once, every step runs one <see cref="ResidentGraph"/> bound
/// with IO binding to device tensors (two sets, used in turn: one step's outputs are the next one's
/// inputs), and only the transform draw (a few numbers) goes up and the batch's objectives (one
/// number an image) come down per step. The images come down once, at the end. Same seeds, same
/// draws and same maps as the host loop (<see cref="Renderer"/>), so the two agree to float rounding.
/// </summary>
public static class ResidentRenderer
{
    /// <summary>True when every transform of the pipeline has a device form.</summary>
    public static bool Supports(RenderOptions options, out string? reason)
    {
        var size = options.Size;
        var pipeline = options.Transforms ?? TransformPipeline.Standard;
        var stages = pipeline.Sample(new Random(0), size, size);
        var missing = stages.ToList().FindIndex(s => s.Stage is null);
        reason = missing < 0 ? null : $"the transform {pipeline.Transforms[missing].GetType().Name} has no device form";
        return missing < 0;
    }

    public static RenderResult Render(
        GradientModel model, SessionFactory sessions, IReadOnlyList<Objective> perImage, RenderOptions options,
        IProgress<RenderProgress>? progress = null, CancellationToken cancellation = default, IReadOnlyList<int>? imageKeys = null)
    {
        var batch = perImage.Count;
        var size = options.Size;
        var network = options.NetworkSize ?? size;
        var parameterization = Renderer.InitialParameters(options, batch, imageKeys);
        var random = RenderSeeds.Transforms(options.Seed);
        var transforms = options.Transforms ?? TransformPipeline.Standard;

        // The graph's stage kinds come from a draw of its own; the render's draws feed their parameters.
        var template = transforms.Sample(new Random(0), size, size).Select(s => s.Stage ?? throw new ArgumentException("a transform has no device form.", nameof(options))).ToList();
        var graph = ResidentGraph.Build(model, parameterization, template, network);

        using var transfer = new DeviceTransfer(sessions);
        var objectiveInputs = UploadObjective(transfer, model, perImage);
        var parameterShape = graph.ParameterShape.ToArray();
        parameterShape[0] = batch;
        var state = new StateSet(
            transfer.Upload(parameterization.Parameters, parameterShape),
            transfer.Upload(new float[parameterization.Parameters.Length], parameterShape),
            transfer.Upload(new float[parameterization.Parameters.Length], parameterShape));
        StateSet? spare = null;
        try
        {
            using var run = new ResidentSession(sessions, graph, batch, size, objectiveInputs);
            run.FeedIdentity(size, network);
            var start = run.Evaluate(state);

            for (var step = 0; step < options.Steps; step++)
            {
                cancellation.ThrowIfCancellationRequested();
                run.Feed(transforms.Sample(random, size, size), size, network);
                run.SetReluRedirect(Renderer.Redirects(options, step));
                var t = step + 1;
                run.SetAdam(options.LearningRate / (1 - Math.Pow(ResidentGraph.Beta1, t)), 1 / (1 - Math.Pow(ResidentGraph.Beta2, t)));
                var (objective, next) = run.Step(state, spare);
                (state, spare) = (next, state);
                progress?.Report(new RenderProgress(step + 1, options.Steps, objective.Average()));
            }

            var images = new float[batch * 3 * size * size];
            run.FeedIdentity(size, network);
            var final = run.Evaluate(state, images);

            var robustness = Renderer.Robustness(batch, options.Seed, transforms, size, steps =>
            {
                run.Feed(steps, size, network);
                return run.Evaluate(state);
            });

            return new RenderResult(images, batch, size, start, final, robustness);
        }
        finally
        {
            state.Dispose();
            spare?.Dispose();
            foreach (var value in objectiveInputs.Values)
            {
                value.Dispose();
            }
        }
    }

    /// <summary>The objective's parameters (weights, L2 and diversity weights), uploaded once.</summary>
    private static Dictionary<string, OrtValue> UploadObjective(DeviceTransfer transfer, GradientModel model, IReadOnlyList<Objective> perImage) =>
        Objective.Parameters(perImage, model.LayerShape, model.Request.Terms).Inputs(model.Request.Terms, perImage.Count, model.LayerShape)
            .ToDictionary(i => i.Name, i => transfer.Upload([.. i.Values.Select(v => (float)v)], i.Shape), StringComparer.Ordinal);

    /// <summary>Parameters and Adam's moments, on the device.</summary>
    private sealed record StateSet(OrtValue Parameters, OrtValue M, OrtValue V) : IDisposable
    {
        public void Dispose()
        {
            Parameters.Dispose();
            M.Dispose();
            V.Dispose();
        }
    }

    /// <summary>One resident graph's session and binding: the objective's inputs bound once, the transform draw fed through small host buffers.</summary>
    private sealed class ResidentSession : IDisposable
    {
        private readonly OnnxSession session;
        private readonly OrtIoBinding binding;
        private readonly RunOptions options = new();
        private readonly ResidentGraph graph;
        private readonly List<OrtValue> hostValues = [];
        private readonly Dictionary<string, Array> hostBuffers = new(StringComparer.Ordinal);
        private readonly float[] objective;
        private readonly OrtValue objectiveValue;
        private readonly int size;

        public ResidentSession(SessionFactory sessions, ResidentGraph graph, int batch, int size, IReadOnlyDictionary<string, OrtValue> objectiveInputs)
        {
            (this.graph, this.size) = (graph, size);
            session = sessions.Create(OnnxModelFile.ToBytes(graph.Model), "device-resident render graph");
            binding = session.Session.CreateIoBinding();
            foreach (var (name, value) in objectiveInputs)
            {
                binding.BindInput(name, value);
            }

            Host(ResidentNames.StepSize, new float[1], []);
            Host(ResidentNames.VarianceScale, new float[1], []);
            if (graph.Model.Graph.Input.Any(i => i.Name == ObjectiveNames.ReluRedirect))
            {
                Host(ObjectiveNames.ReluRedirect, new float[1], []);
            }
            for (var i = 0; i < graph.Stages.Count; i++)
            {
                if (graph.Stages[i] is CropStage)
                {
                    Host(ResidentNames.CropStart(i), new long[2], [2]);
                    Host(ResidentNames.CropEnd(i), new long[2], [2]);
                    Host(ResidentNames.CropPads(i), new long[8], [8]);
                }
                else if (graph.Stages[i] is AffineStage)
                {
                    Host(ResidentNames.Affine(i), new float[6], [6]);
                    Host(ResidentNames.Size(i), new long[2], [2]);
                }
            }

            objective = new float[batch];
            objectiveValue = OrtValue.CreateTensorValueFromMemory(objective, [batch]);
        }

        /// <summary>Feeds a transform draw (the graph's stages but its last) and the resize to the network's size.</summary>
        public void Feed(IReadOnlyList<ITransformStep> steps, int size, int network)
        {
            if (steps.Count != graph.Stages.Count - 1)
            {
                throw new ArgumentException($"a draw of {steps.Count} transforms for a graph of {graph.Stages.Count - 1}.", nameof(steps));
            }

            var (height, width) = (size, size);
            for (var i = 0; i < graph.Stages.Count; i++)
            {
                var (stage, outHeight, outWidth) = i < steps.Count
                    ? (steps[i].Stage, steps[i].OutputHeight, steps[i].OutputWidth)
                    : (AffineStage.Resize(height, width, network, network), network, network);
                switch (stage)
                {
                    case PadStage pad when pad == graph.Stages[i]:
                        break;
                    case CropStage crop when graph.Stages[i] is CropStage:
                        Set(ResidentNames.CropStart(i), [crop.Top, crop.Left]);
                        Set(ResidentNames.CropEnd(i), [crop.Top + outHeight, crop.Left + outWidth]);
                        Set(ResidentNames.CropPads(i), [0, 0, crop.Top, crop.Left, 0, 0, height - crop.Top - outHeight, width - crop.Left - outWidth]);
                        break;
                    case AffineStage affine when graph.Stages[i] is AffineStage:
                        SetAffine(i, affine);
                        Set(ResidentNames.Size(i), [outHeight, outWidth]);
                        break;
                    default:
                        throw new ArgumentException($"transform {i} drew {stage?.GetType().Name ?? "a step with no device form"}, but the graph was built for {graph.Stages[i]}.", nameof(steps));
                }

                (height, width) = (outHeight, outWidth);
            }
        }

        /// <summary>
        /// Feeds the stages so that together they resample nothing: each crop and affine map takes
        /// exactly the image back out of whatever padding came before (integer shifts, weights of 1),
        /// and the last resizes it to the network's size as the host loop does without transforms.
        /// </summary>
        public void FeedIdentity(int size, int network)
        {
            var (offset, canvas) = (0, size);
            for (var i = 0; i < graph.Stages.Count; i++)
            {
                var last = i == graph.Stages.Count - 1;
                switch (graph.Stages[i])
                {
                    case PadStage pad:
                        (offset, canvas) = (offset + pad.Pixels, canvas + (2 * pad.Pixels));
                        break;
                    case CropStage:
                        Set(ResidentNames.CropStart(i), [offset, offset]);
                        Set(ResidentNames.CropEnd(i), [offset + size, offset + size]);
                        Set(ResidentNames.CropPads(i), [0, 0, offset, offset, 0, 0, canvas - offset - size, canvas - offset - size]);
                        (offset, canvas) = (0, size);
                        break;
                    case AffineStage:
                        var outSize = last ? network : size;
                        var scale = (double)size / outSize;
                        SetAffine(i, new AffineStage(scale, 0, offset, 0, scale, offset));
                        Set(ResidentNames.Size(i), [outSize, outSize]);
                        (offset, canvas) = (0, outSize);
                        break;
                }
            }
        }

        /// <summary>Switches the graph's Relu and Clip rules to Lucid's redirected gradient or back (a graph without the switch ignores it).</summary>
        public void SetReluRedirect(bool on)
        {
            if (hostBuffers.TryGetValue(ObjectiveNames.ReluRedirect, out var buffer))
            {
                ((float[])buffer)[0] = on ? 1 : 0;
            }
        }

        public void SetAdam(double stepSize, double varianceScale)
        {
            ((float[])hostBuffers[ResidentNames.StepSize])[0] = (float)stepSize;
            ((float[])hostBuffers[ResidentNames.VarianceScale])[0] = (float)varianceScale;
        }

        /// <summary>One optimization step: the next state goes to <paramref name="into"/> (or new device tensors the first time).</summary>
        public (double[] Objective, StateSet Next) Step(StateSet state, StateSet? into)
        {
            Bind(state);
            binding.BindOutput(ObjectiveNames.Objective, objectiveValue);
            if (into is not null)
            {
                binding.BindOutput(ResidentNames.NextParameters, into.Parameters);
                binding.BindOutput(ResidentNames.NextAdamM, into.M);
                binding.BindOutput(ResidentNames.NextAdamV, into.V);
                Run();
                return (Objectives(), into);
            }

            binding.BindOutputToDevice(ResidentNames.NextParameters, session.DeviceMemory);
            binding.BindOutputToDevice(ResidentNames.NextAdamM, session.DeviceMemory);
            binding.BindOutputToDevice(ResidentNames.NextAdamV, session.DeviceMemory);
            Run();
            var names = binding.GetOutputNames();
            var values = binding.GetOutputValues();
            var byName = names.Zip(values).ToDictionary(p => p.First, p => p.Second, StringComparer.Ordinal);
            byName[ObjectiveNames.Objective].Dispose();
            return (Objectives(), new StateSet(byName[ResidentNames.NextParameters], byName[ResidentNames.NextAdamM], byName[ResidentNames.NextAdamV]));
        }

        /// <summary>The objective of each image of <paramref name="state"/> (and the images themselves into <paramref name="images"/>).</summary>
        public double[] Evaluate(StateSet state, float[]? images = null)
        {
            Bind(state);
            binding.BindOutput(ObjectiveNames.Objective, objectiveValue);
            using var imageValue = images is null ? null : OrtValue.CreateTensorValueFromMemory(images, [objective.Length, 3, size, size]);
            if (imageValue is not null)
            {
                binding.BindOutput(ResidentNames.Image, imageValue);
            }

            Run();
            return Objectives();
        }

        public void Dispose()
        {
            binding.Dispose();
            options.Dispose();
            objectiveValue.Dispose();
            foreach (var value in hostValues)
            {
                value.Dispose();
            }

            session.Dispose();
        }

        private void Bind(StateSet state)
        {
            binding.ClearBoundOutputs();
            binding.BindInput(ResidentNames.Parameters, state.Parameters);
            binding.BindInput(ResidentNames.AdamM, state.M);
            binding.BindInput(ResidentNames.AdamV, state.V);
        }

        private void Run()
        {
            session.Session.RunWithBinding(options, binding);
            binding.SynchronizeBoundOutputs();
        }

        private double[] Objectives() => [.. objective.Select(v => (double)v)];

        private void SetAffine(int stage, AffineStage affine)
        {
            var coefficients = (float[])hostBuffers[ResidentNames.Affine(stage)];
            (coefficients[0], coefficients[1], coefficients[2]) = ((float)affine.A, (float)affine.B, (float)affine.C);
            (coefficients[3], coefficients[4], coefficients[5]) = ((float)affine.D, (float)affine.E, (float)affine.F);
        }

        private void Set(string name, long[] values) => values.CopyTo((long[])hostBuffers[name], 0);

        private void Host<T>(string name, T[] buffer, long[] shape)
            where T : unmanaged
        {
            var value = OrtValue.CreateTensorValueFromMemory(buffer, shape);
            hostValues.Add(value);
            hostBuffers[name] = buffer;
            binding.BindInput(name, value);
        }
    }
}
