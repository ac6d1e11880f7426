using System.Globalization;
using Microscope.Onnx;

namespace Microscope.Organisms;

/// <summary>
/// A manifest for a model that came without one: what can be read off the model is taken from it
/// (its single 4-D float input, the layout, a fixed size), the rest is the common default
/// (RGB in [0, 1], no mean or std), and every guess is written down for the user.
/// </summary>
public static class ManifestInference
{
    public static ModelManifest Infer(string modelPath)
    {
        var model = OnnxModelFile.Load(modelPath);
        var graph = new OnnxGraph(model);
        var input = VisionGraph.FindImageInput(graph, new InputSpec(), modelPath);
        var dims = input.Type.TensorType.Shape.Dim;
        var channelsLast = dims[3].HasDimValue && dims[3].DimValue == 3 && !(dims[1].HasDimValue && dims[1].DimValue == 3);
        var (hIndex, wIndex) = channelsLast ? (1, 2) : (2, 3);
        var fixedSize = dims[hIndex].HasDimValue && dims[wIndex].HasDimValue && dims[hIndex].DimValue > 0 && dims[wIndex].DimValue > 0;
        if (fixedSize && (dims[hIndex].DimValue > int.MaxValue || dims[wIndex].DimValue > int.MaxValue))
        {
            throw new ModelFormatException(string.Create(CultureInfo.InvariantCulture,
                $"{Path.GetFileName(modelPath)}: input '{input.Name}' declares {dims[hIndex].DimValue}×{dims[wIndex].DimValue} pixels, which is not an image size."));
        }

        int[] size = fixedSize ? [(int)dims[hIndex].DimValue, (int)dims[wIndex].DimValue] : [224, 224];
        var name = Path.GetFileNameWithoutExtension(modelPath);
        var id = Ids.FromName(name).ToLowerInvariant();

        var assumptions = new List<string>
        {
            $"no manifest was given: took input '{input.Name}' as the image, {(channelsLast ? "NHWC" : "NCHW")}",
            "assumed RGB in [0, 1] with no mean or std; write a manifest if the model expects otherwise",
            fixedSize
                ? string.Create(CultureInfo.InvariantCulture, $"size {size[0]}×{size[1]} read from the model")
                : "size 224×224 assumed (the model does not fix it)",
        };

        return new ModelManifest
        {
            Id = Ids.IsValid(id) ? id : "model",
            Title = name,
            Source = Path.GetFullPath(modelPath),
            Model = Path.GetFullPath(modelPath),
            Input = new InputSpec { Name = input.Name, Layout = channelsLast ? "NHWC" : "NCHW", Size = size },
            Assumptions = assumptions,
            BaseDirectory = Path.GetDirectoryName(Path.GetFullPath(modelPath))!,
        };
    }
}
