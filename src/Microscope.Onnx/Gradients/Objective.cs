namespace Microscope.Onnx.Gradients;

/// <summary>Which kinds of terms a built graph can compute; each kind adds inputs (its parameters) to the graph.</summary>
[Flags]
public enum ObjectiveTerms
{
    /// <summary>Σ activation · weights: channel, neuron, direction and caricature objectives, and their weighted sums.</summary>
    Linear = 1,

    /// <summary>l2_weight[n] · mean(activation²): DeepDream.</summary>
    L2 = 2,

    /// <summary>−diversity_weight · similarity of the batch's Gram matrices (Lucid's diversity).</summary>
    Diversity = 4,

    All = Linear | L2 | Diversity,
}

/// <summary>
/// The names of the objective's parameters and outputs in a built gradient graph.
/// <para>
/// Sign convention, written down once: every objective is maximized. The graph returns
/// objective[n] for each batch element n and d(Σₙ objective[n]) / d(image). A "negative" objective
/// is the same objective with its weights negated; a weighted sum of objectives is the sum of
/// their weights (the linear term) and of their L2 and diversity weights.
/// </para>
/// <para>
/// objective[n] = Σ_{c,h,w} A[n,c,h,w] · objective_weights[n,c,h,w]
///              + l2_weight[n] · mean_{c,h,w} A[n,c,h,w]²
///              − diversity_weight · (1/N) Σ_{m≠n} ⟨Ĝₙ, Ĝₘ⟩,
/// where A is the layer's activation and Ĝₙ the L2-normalized Gram matrix of A[n] (C×C over
/// positions), as in Lucid's diversity objective. For a 2-D layer (N×K) the same holds with no h, w.
/// </para>
/// </summary>
public static class ObjectiveNames
{
    public const string Weights = "objective_weights";
    public const string L2Weight = "l2_weight";
    public const string DiversityWeight = "diversity_weight";

    /// <summary>
    /// The scalar switch of a graph built with <see cref="GradientRequest.ReluRedirect"/>: above 0,
    /// Relu and Clip pass Lucid's redirected gradient; 0, the true one (see Rules/Activations.cs).
    /// </summary>
    public const string ReluRedirect = "relu_redirect";
    public const string Objective = "objective";
    public const string ImageGradient = "image_grad";
    public const string Activations = "activations";
}
