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
