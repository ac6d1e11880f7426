namespace Microscope.Optvis.Transforms;

/// <summary>Pads by <paramref name="Pixels"/> on every side with a constant (0.5: grey). The padding receives no gradient.</summary>
public sealed record Pad(int Pixels, float Value = 0.5f) : ITransform
{
    public ITransformStep Sample(Random random, int height, int width) => new Step(this, height, width);

    private sealed class Step(Pad pad, int height, int width) : ITransformStep
    {
        public int InputHeight => height;

        public int InputWidth => width;

        public int OutputHeight => height + (2 * pad.Pixels);

        public int OutputWidth => width + (2 * pad.Pixels);

        public DeviceStage Stage => new PadStage(pad.Pixels, pad.Value);

        public void Forward(ReadOnlySpan<float> input, Span<float> output)
        {
            output.Fill(pad.Value);
            for (var c = 0; c < 3; c++)
            {
                for (var y = 0; y < height; y++)
                {
                    input.Slice((c * height * width) + (y * width), width)
                        .CopyTo(output.Slice((c * OutputHeight * OutputWidth) + ((y + pad.Pixels) * OutputWidth) + pad.Pixels, width));
                }
            }
        }

        public void Backward(ReadOnlySpan<float> outputGradient, Span<float> inputGradient)
        {
            for (var c = 0; c < 3; c++)
            {
                for (var y = 0; y < height; y++)
                {
                    outputGradient.Slice((c * OutputHeight * OutputWidth) + ((y + pad.Pixels) * OutputWidth) + pad.Pixels, width)
                        .CopyTo(inputGradient.Slice((c * height * width) + (y * width), width));
                }
            }
        }
    }
}
