using Microscope.Farm.Storage;
using Microscope.Onnx;
using Microscope.Organisms;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Configuration;
using Microsoft.Net.Http.Headers;

namespace Microscope.Farm.Api;

/// <summary>
/// POST /api/models: a new model organism, uploaded as multipart/form-data with a part "model" (the
/// .onnx file), and optionally "manifest" (JSON, see docs/adding-a-model-organism.md) and
/// "preprocessing" (an .onnx preprocessing model the manifest names). The upload is streamed to a
/// temporary folder within the size limit and checked without running it (its protobuf parses, an
/// image input is found, its id is free or ?replace=true), then its files are staged in the lens store
/// and it answers 202 with the model's status URL (GET /api/models/{model}/status). A render silo
/// catalogs it (the probe run within Farm:Catalog's limits, the gradient build) and registers it;
/// what the catalog refuses makes the status failed, with the reason. The temporary folder is removed
/// whatever happens, and a request refused here stores nothing.
/// </summary>
public static class UploadApi
{
    public const long DefaultMaxBytes = 2L << 30;
    private const string FileNameKey = "model filename";

    public static RouteGroupBuilder MapUploadApi(this RouteGroupBuilder models)
    {
        models.MapPost("/", UploadAsync).RequireWriteAccess().DisableAntiforgery()
            .WithMetadata(new RequestSizeLimitMetadata());
        models.MapRead("/{model}/status", StatusAsync).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status400BadRequest);
        return models;
    }

    /// <param name="id">The model id; by default the manifest's, or the uploaded file's name.</param>
    /// <param name="replace">Whether a model already registered under the id may be replaced by a new version.</param>
    public static async Task<Results<Accepted<ModelIntakeStatus>, Ok<ModelIntakeStatus>, ProblemHttpResult>> UploadAsync(
        HttpContext context, IGrainFactory grains, ILensStore store, IConfiguration configuration, string? id = null, bool replace = false)
    {
        var limit = configuration.GetValue<long?>("Farm:Api:MaxUploadBytes") ?? DefaultMaxBytes;
        if (context.Request.ContentLength > limit)
        {
            return TooLarge(limit);
        }

        var boundary = MediaTypeHeaderValue.TryParse(context.Request.ContentType, out var type) && type.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase)
            ? HeaderUtilities.RemoveQuotes(type.Boundary).Value : null;
        if (string.IsNullOrEmpty(boundary))
        {
            return Bad("send the model as multipart/form-data with a part named \"model\" (the .onnx file), and optionally \"manifest\" and \"preprocessing\".");
        }

        var folder = Path.Combine(Path.GetTempPath(), "microscope-upload-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        try
        {
            Dictionary<string, string>? parts;
            try
            {
                parts = await ReceiveAsync(new MultipartReader(boundary, context.Request.Body), folder, limit, context.RequestAborted);
            }
            catch (IOException) when (!context.RequestAborted.IsCancellationRequested)
            {
                // A multipart body cut off mid-part or without its closing boundary.
                return Bad("the upload ended before its closing multipart boundary: send the whole multipart/form-data body.");
            }

            if (parts is null)
            {
                return TooLarge(limit);
            }

            if (!parts.TryGetValue("model", out var modelPath))
            {
                return Bad("the upload has no part named \"model\" with the .onnx file.");
            }

            // Everything that can refuse the upload is checked before anything is written.
            var manifest = ManifestFor(parts, modelPath, WriteAccess.Caller(context), id);
            var package = await ModelPackage.ReadAsync(manifest, context.RequestAborted);
            var current = await grains.GetGrain<IModelGrain>(manifest.Id).IntakeStatusAsync();
            if (current is { State: not ModelIntakeState.Failed } && current.Version != package.Version && !replace)
            {
                return TypedResults.Problem($"model '{manifest.Id}' is registered already (version {current.Version}{(current.State == ModelIntakeState.Pending ? ", its intake pending" : "")}); upload with ?replace=true to register this one as its new version, or choose another id with ?id=.",
                    statusCode: StatusCodes.Status409Conflict, title: "The model exists");
            }

            var status = await ModelIntake.StartAsync(grains, store, package, WriteAccess.Caller(context), context.RequestAborted);
            return status.State == ModelIntakeState.Ready ? TypedResults.Ok(status) : TypedResults.Accepted(StatusUrl(status.Model), status);
        }
        catch (Exception e) when (e is ModelFormatException or FarmInputException or System.Text.Json.JsonException or InvalidDataException)
        {
            return Bad(e.Message.Replace(folder, "upload", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>
    /// GET /api/models/{model}/status: the newest upload's intake: pending until a render silo has
    /// catalogued it, then ready (the model is served at /api/models/{model}), or failed with the reason.
    /// </summary>
    public static async Task<Ok<ModelIntakeStatus>> StatusAsync(IGrainFactory grains, string model) =>
        TypedResults.Ok(await grains.GetGrain<IModelGrain>(FarmIds.Model(model)).IntakeStatusAsync()
            ?? throw new FarmNotFoundException($"there is no model '{FarmIds.Shorten(model)}' and no upload of it; upload it with POST /api/models."));

    public static string StatusUrl(string model) => $"/api/models/{model}/status";

    /// <summary>The manifest sent (naming the uploaded files), or one inferred from the model with its guesses written down.</summary>
    private static ModelManifest ManifestFor(Dictionary<string, string> parts, string modelPath, string caller, string? id)
    {
        ModelManifest manifest;
        if (parts.TryGetValue("manifest", out var manifestPath))
        {
            var sent = ModelManifest.Load(manifestPath);
            if (sent.Input.PreprocessingModel is { Length: > 0 } named && !parts.ContainsKey("preprocessing"))
            {
                // Dropping it would render the model with the wrong input.
                throw new FarmInputException($"the manifest names the preprocessing model '{named}' (input.preprocessingModel), but the upload has no part named \"preprocessing\": send that .onnx file as the \"preprocessing\" part, or remove preprocessingModel from the manifest.");
            }

            manifest = sent with
            {
                Model = Path.GetFileName(modelPath),
                Input = sent.Input with { PreprocessingModel = parts.ContainsKey("preprocessing") ? "preprocessing.onnx" : null },
            };

            // The cheap checks, without running anything: the files parse and the manifest's image input is there.
            OrganismRegistry.Compose(manifest);
        }
        else
        {
            manifest = ManifestInference.Infer(modelPath);
            var uploaded = Path.GetFileNameWithoutExtension(parts.GetValueOrDefault(FileNameKey) ?? "");
            if (uploaded.Length > 0)
            {
                manifest = manifest with { Id = Ids.FromName(uploaded).ToLowerInvariant(), Title = uploaded };
            }
        }

        if (id is not null)
        {
            manifest = manifest with { Id = id };
        }

        FarmIds.Check(manifest.Id, "model");
        return manifest with { Source = string.IsNullOrWhiteSpace(manifest.Source) || manifest.Source.StartsWith(Path.GetTempPath(), StringComparison.Ordinal) ? $"uploaded by {caller}" : manifest.Source };
    }

    /// <summary>Streams each known part to a file; null when the limit is passed (the caller answers 413).</summary>
    private static async Task<Dictionary<string, string>?> ReceiveAsync(MultipartReader reader, string folder, long limit, CancellationToken cancellationToken)
    {
        var parts = new Dictionary<string, string>();
        long total = 0;
        var buffer = new byte[81920];
        while (await reader.ReadNextSectionAsync(cancellationToken) is { } section)
        {
            if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition) || disposition.Name.Value is not { } name)
            {
                throw new InvalidDataException("a part of the upload has no name.");
            }

            var file = name.Trim('"') switch
            {
                "model" => "model.onnx",
                "manifest" => "manifest.json",
                "preprocessing" => "preprocessing.onnx",
                var other => throw new InvalidDataException($"unexpected part \"{other}\": send \"model\", and optionally \"manifest\" and \"preprocessing\"."),
            };
            var path = Path.Combine(folder, file);
            await using var output = File.Create(path);
            int read;
            while ((read = await section.Body.ReadAsync(buffer, cancellationToken)) > 0)
            {
                total += read;
                if (total > limit)
                {
                    return null;
                }

                await output.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
            }

            parts[name.Trim('"')] = path;
            if (file == "model.onnx" && disposition.FileName.Value is { } fileName)
            {
                parts[FileNameKey] = fileName.Trim('"');
            }
        }

        return parts;
    }

    private static ProblemHttpResult Bad(string detail) => TypedResults.Problem(detail, statusCode: StatusCodes.Status400BadRequest, title: "The model was not accepted");

    private static ProblemHttpResult TooLarge(long limit) =>
        TypedResults.Problem($"the upload is larger than the limit of {limit} bytes (Farm:Api:MaxUploadBytes); nothing was stored.", statusCode: StatusCodes.Status413PayloadTooLarge, title: "Too large");

    /// <summary>Lifts Kestrel's own body limit for this endpoint: the upload enforces Farm:Api:MaxUploadBytes itself while streaming.</summary>
    private sealed class RequestSizeLimitMetadata : IRequestSizeLimitMetadata
    {
        public long? MaxRequestBodySize => null;
    }
}
