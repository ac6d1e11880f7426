using Microscope.Onnx.Gradients;

namespace Microscope.Onnx.Tests.Gradients;

/// <summary>The L2 (DeepDream) and diversity terms of the objective, alone and with the linear term, on a small conv + relu layer.</summary>
public sealed class ObjectiveTermGradientTests
{
    [Theory]
    [InlineData(ObjectiveTerms.L2, 2)]
    [InlineData(ObjectiveTerms.Diversity, 3)]
    [InlineData(ObjectiveTerms.All, 3)]
    public void Terms_on_a_conv_relu_layer(ObjectiveTerms terms, int batch) =>
        GradientAssert.Check((m, x) => m.Relu(m.Conv(x, 3, 4)), batch: batch, terms: terms);
}
