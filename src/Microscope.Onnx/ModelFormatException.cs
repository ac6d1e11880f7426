namespace Microscope.Onnx;

/// <summary>
/// A model, a manifest or a request about a model that cannot be used as given. The message
/// is written for the person who supplied the input: it names the input and the problem, and
/// what to do where that is not obvious. Tools print it as one line; it never carries a stack trace
/// to the user.
/// </summary>
public class ModelFormatException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>A layer or unit named by a user that the model does not have.</summary>
public sealed class UnknownLayerException(string message) : ModelFormatException(message);
