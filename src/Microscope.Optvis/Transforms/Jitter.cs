namespace Microscope.Optvis.Transforms;

/// <summary>A random crop that is <paramref name="Pixels"/> smaller in each direction (Lucid's jitter): offsets in [0, Pixels].</summary>
public sealed record Jitter(int Pixels) : ITransform
{
    public ITransformStep Sample(Random random, int height, int width) =>
        new Step(height, width, height - Pixels, width - Pixels, random.Next(Pixels + 1), random.Next(Pixels + 1));

    private sealed class Step(int height, int width, int outHeight, int outWidth, int dy, int dx) : ITransformStep
    {
        public int InputHeight => height;

        public int InputWidth => width;

        public int OutputHeight => outHeight;

        public int OutputWidth => outWidth;

        public DeviceStage Stage => new CropStage(dy, dx);

        public void Forward(ReadOnlySpan<float> input, Span<float> output)
        {
            for (var c = 0; c < 3; c++)
            {
                for (var y = 0; y < outHeight; y++)
                {
                    input.Slice((c * height * width) + ((y + dy) * width) + dx, outWidth).CopyTo(output.Slice((c * outHeight * outWidth) + (y * outWidth), outWidth));
                }
            }
        }

        public void Backward(ReadOnlySpan<float> outputGradient, Span<float> inputGradient)
        {
            inputGradient[..(3 * height * width)].Clear();
            for (var c = 0; c < 3; c++)
            {
                for (var y = 0; y < outHeight; y++)
                {
                    outputGradient.Slice((c * outHeight * outWidth) + (y * outWidth), outWidth).CopyTo(inputGradient.Slice((c * height * width) + ((y + dy) * width) + dx, outWidth));
                }
            }
        }
    }
}
