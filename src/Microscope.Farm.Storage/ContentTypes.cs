namespace Microscope.Farm.Storage;

/// <summary>Content types by extension, one place.</summary>
public static class ContentTypes
{
    public const string Png = "image/png";
    public const string Json = "application/json";
    public const string Onnx = "application/octet-stream";

    public static string For(string path) => Path.GetExtension(path) switch
    {
        ".png" => Png,
        ".json" => Json,
        _ => Onnx,
    };
}
