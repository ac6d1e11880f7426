using Microscope.Inference;
using Microscope.Onnx;
using Microscope.Onnx.Gradients;
using Microscope.Optvis.Optimizers;
using Microscope.Optvis.Param;
using Microscope.Optvis.Transforms;

namespace Microscope.Optvis;

/// <summary>
/// The feature-visualization loop: image from parameters → random transforms → resample to the
/// network size → objective and gradient from the built graph (ONNX Runtime, buffers bound once) →
/// back through the resample, the transforms and the parameterization → Adam step up the gradient.
/// No I/O; all randomness from <see cref="RenderOptions.Seed"/>. Image n of the batch maximizes
/// objective n, so one pass renders many units of a layer.
/// </summary>
public static class Renderer
{
    /// <param name="imageKeys">One key per image (<see cref="RenderSeeds.Key"/>) that, with the seed, draws its initial parameters; null numbers the images 0, 1, ….</param>
    public static RenderResult Render(
        GradientModel model, SessionFactory sessions, IReadOnlyList<Objective> perImage, RenderOptions options,
        IProgress<RenderProgress>? progress = null, CancellationToken cancellation = default, IReadOnlyList<int>? imageKeys = null)
    {
        if (sessions.Settings.ResidentLoop && Resident.ResidentRenderer.Supports(options, out _))
        {
            return Resident.ResidentRenderer.Render(model, sessions, perImage, options, progress, cancellation, imageKeys);
        }

        var batch = perImage.Count;
        var size = options.Size;
        var network = options.NetworkSize ?? size;
        var parameterization = InitialParameters(options, batch, imageKeys);
        var random = RenderSeeds.Transforms(options.Seed);
        var transforms = options.Transforms ?? TransformPipeline.Standard;
        var adam = new Adam(parameterization.Parameters.Length, options.LearningRate);

        var terms = model.Request.Terms;
        var parameters = Objective.Parameters(perImage, model.LayerShape, terms);
        using var session = sessions.Create(OnnxModelFile.ToBytes(model.Model), "gradient graph");
        long[] imageShape = [batch, 3, network, network];
        var objectiveInputs = parameters.Inputs(terms, batch, model.LayerShape);
        var inputs = new Dictionary<string, long[]> { [VisionGraph.ImageInput] = imageShape };
        foreach (var (name, shape, _) in objectiveInputs)
        {
            inputs[name] = shape;
        }

        var redirectable = model.Request.ReluRedirect;
        if (redirectable)
        {
            inputs[ObjectiveNames.ReluRedirect] = [];
        }

        using var run = new BoundRun(session.Session, inputs, new Dictionary<string, long[]>
        {
            [ObjectiveNames.Objective] = [batch],
            [ObjectiveNames.ImageGradient] = imageShape,
        });
        foreach (var (name, _, values) in objectiveInputs)
        {
            var target = run.Input(name);
            for (var i = 0; i < values.Length; i++)
            {
                target[i] = (float)values[i];
            }
        }

        var imageSize = 3 * size * size;
        var networkSize = 3 * network * network;
        var images = new float[batch * imageSize];
        var imageGradient = new float[batch * imageSize];
        var parameterGradient = new float[parameterization.Parameters.Length];
        parameterization.Image(images);
        var start = Evaluate(run, images, batch, size, network);
        for (var step = 0; step < options.Steps; step++)
        {
            cancellation.ThrowIfCancellationRequested();
            if (redirectable)
            {
                run.Input(ObjectiveNames.ReluRedirect)[0] = Redirects(options, step) ? 1 : 0;
            }

            parameterization.Image(images);
            var steps = transforms.Sample(random, size, size);
            var (h, w, resample) = Feed(run, images, batch, size, network, steps);
            run.Run();
            var objective = run.Output(ObjectiveNames.Objective).ToArray().Select(v => (double)v).ToArray();

            var modelGradient = run.Output(ObjectiveNames.ImageGradient);
            for (var n = 0; n < batch; n++)
            {
                var gradient = new float[3 * h * w];
                resample.Backward(modelGradient.Slice(n * networkSize, networkSize), gradient);
                for (var i = steps.Count - 1; i >= 0; i--)
                {
                    var previous = new float[3 * steps[i].InputHeight * steps[i].InputWidth];
                    steps[i].Backward(gradient, previous);
                    gradient = previous;
                }

                gradient.CopyTo(imageGradient, n * imageSize);
            }

            parameterization.Backward(imageGradient, parameterGradient);
            adam.Step(parameterization.Parameters, parameterGradient);
            progress?.Report(new RenderProgress(step + 1, options.Steps, objective.Average()));
        }

        parameterization.Image(images);
        var final = Evaluate(run, images, batch, size, network);

        var robustness = Robustness(batch, options.Seed, transforms, size, steps => Evaluate(run, images, batch, size, network, steps));
        return new RenderResult(images, batch, size, start, final, robustness);
    }

    /// <summary>The parameterization of <paramref name="options"/>, image n drawn from its key alone.</summary>
    public static IImageParameterization InitialParameters(RenderOptions options, int batch, IReadOnlyList<int>? imageKeys)
    {
        if (imageKeys is not null && imageKeys.Count != batch)
        {
            throw new ArgumentException($"{imageKeys.Count} image keys for a batch of {batch}.", nameof(imageKeys));
        }

        Random[] sources = [.. Enumerable.Range(0, batch).Select(n => RenderSeeds.Image(options.Seed, imageKeys?[n] ?? n))];
        return options.Fourier
            ? new FourierImage(options.Size, options.Size, sources, options.DecayPower, options.InitialSd, options.Decorrelate)
            : new PixelImage(options.Size, options.Size, sources, options.InitialSd, options.Decorrelate);
    }

    /// <summary>How many random transform draws the robustness figure averages.</summary>
    public const int RobustnessDraws = 16;

    /// <summary>
    /// Robustness, for both render loops: each image's mean objective over <see cref="RobustnessDraws"/>
    /// fresh random draws of the transforms (<see cref="RenderSeeds.Robustness"/>), each draw evaluated by <paramref name="evaluate"/>.
    /// </summary>
    internal static double[] Robustness(int batch, int seed, TransformPipeline transforms, int size, Func<IReadOnlyList<ITransformStep>, double[]> evaluate)
    {
        var robustness = new double[batch];
        var check = RenderSeeds.Robustness(seed);
        for (var draw = 0; draw < RobustnessDraws; draw++)
        {
            var objective = evaluate(transforms.Sample(check, size, size));
            for (var n = 0; n < batch; n++)
            {
                robustness[n] += objective[n] / RobustnessDraws;
            }
        }

        return robustness;
    }

    /// <summary>Steps that climb Lucid's redirected ReLU gradient before the true one (Lucid's 16).</summary>
    public const int ReluRedirectSteps = 16;

    /// <summary>True when step <paramref name="step"/> (from 0) climbs the redirected gradient.</summary>
    public static bool Redirects(RenderOptions options, int step) => options.ReluRedirect && step < ReluRedirectSteps;

    /// <summary>The objective of each image, through the given transforms (none by default), resampled to the network size.</summary>
    private static double[] Evaluate(BoundRun run, float[] images, int batch, int size, int network, IReadOnlyList<ITransformStep>? steps = null)
    {
        Feed(run, images, batch, size, network, steps ?? []);
        run.Run();
        return [.. run.Output(ObjectiveNames.Objective).ToArray().Select(v => (double)v)];
    }

    /// <summary>Writes each image, through the transform steps and resampled to the network size, into the model's input.</summary>
    private static (int Height, int Width, Bilinear Resample) Feed(BoundRun run, float[] images, int batch, int size, int network, IReadOnlyList<ITransformStep> steps)
    {
        var (h, w) = steps.Count == 0 ? (size, size) : (steps[^1].OutputHeight, steps[^1].OutputWidth);
        var resample = Bilinear.Resize(h, w, network, network);
        var (imageSize, networkSize) = (3 * size * size, 3 * network * network);
        var input = run.Input(VisionGraph.ImageInput);
        for (var n = 0; n < batch; n++)
        {
            ReadOnlySpan<float> current = images.AsSpan(n * imageSize, imageSize);
            foreach (var step in steps)
            {
                var output = new float[3 * step.OutputHeight * step.OutputWidth];
                step.Forward(current, output);
                current = output;
            }

            resample.Forward(current, input.Slice(n * networkSize, networkSize));
        }

        return (h, w, resample);
    }
}
