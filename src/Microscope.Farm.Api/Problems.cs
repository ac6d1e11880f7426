using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;

namespace Microscope.Farm.Api;

/// <summary>Errors as RFC 7807 problem details: what was not found → 404, what was malformed → 400.</summary>
public static class Problems
{
    public static WebApplication UseFarmProblems(this WebApplication app)
    {
        app.UseExceptionHandler(handler => handler.Run(async context =>
        {
            var error = context.Features.Get<IExceptionHandlerFeature>()?.Error;
            var (status, title) = error switch
            {
                BadHttpRequestException bad => (bad.StatusCode, bad.StatusCode == StatusCodes.Status415UnsupportedMediaType ? "Unsupported media type" : "Bad request"),
                InvalidOperationException when IsUnknownCharset(error) => (StatusCodes.Status415UnsupportedMediaType, "Unsupported media type"),
                FarmNotFoundException => (StatusCodes.Status404NotFound, "Not found"),
                FarmQuotaException => (StatusCodes.Status429TooManyRequests, "Quota exceeded"),
                FarmInputException or ArgumentException or FormatException => (StatusCodes.Status400BadRequest, "Bad request"),
                _ => (StatusCodes.Status500InternalServerError, "Internal error"),
            };
            var detail = status == StatusCodes.Status500InternalServerError ? "The farm could not answer; the error is in its log."
                : error is BadHttpRequestException { InnerException: { } inner } ? $"{error.Message} {inner.Message}"
                : error?.Message;
            await Results.Problem(detail, statusCode: status, title: title).ExecuteAsync(context);
        }));

        // Answers without a body (no route: 404, wrong method: 405) get problem details too.
        app.UseStatusCodePages();
        return app;
    }

    /// <summary>The JSON reader's answer to a Content-Type charset .NET does not know (utf-7, say).</summary>
    private static bool IsUnknownCharset(Exception error) =>
        error.Message.Contains("charset", StringComparison.OrdinalIgnoreCase) || error.Message.Contains("encoding", StringComparison.OrdinalIgnoreCase);
}
