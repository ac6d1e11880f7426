using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Microscope.Farm.Api;

/// <summary>
/// Errors as RFC 7807 problem details: what was not found → 404, what was malformed → 400. A client's
/// error is logged as one information line without a stack (a flood of bad requests must not flood
/// the log); only a server fault (500) is logged at error level with its stack.
/// </summary>
public static partial class Problems
{
    /// <summary>Longest client error message a log line carries.</summary>
    private const int MaxLogged = 300;

    public static WebApplication UseFarmProblems(this WebApplication app)
    {
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            ExceptionHandler = async context =>
            {
                var error = context.Features.Get<IExceptionHandlerFeature>()?.Error;
                var (status, title) = Classify(error);
                var detail = status == StatusCodes.Status500InternalServerError ? "The farm could not answer; the error is in its log."
                    : error is BadHttpRequestException { InnerException: { } inner } ? $"{error.Message} {inner.Message}"
                    : error?.Message;
                if (status < StatusCodes.Status500InternalServerError)
                {
                    var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(Problems).FullName!);
                    LogClientError(logger, context.Request.Method, FarmIds.Shorten(context.Request.Path.ToString()), status,
                        detail is { Length: > MaxLogged } ? detail[..MaxLogged] + "…" : detail ?? "");
                }

                await Results.Problem(detail, statusCode: status, title: title).ExecuteAsync(context);
            },

            // The middleware's own diagnostics (an error with the stack) are for server faults only.
            SuppressDiagnosticsCallback = c => Classify(c.Exception).Status < StatusCodes.Status500InternalServerError,
        });

        // Answers without a body (no route: 404, wrong method: 405) get problem details too.
        app.UseStatusCodePages();
        return app;
    }

    private static (int Status, string Title) Classify(Exception? error) => error switch
    {
        BadHttpRequestException bad => (bad.StatusCode, bad.StatusCode == StatusCodes.Status415UnsupportedMediaType ? "Unsupported media type" : "Bad request"),
        InvalidOperationException when IsUnknownCharset(error) => (StatusCodes.Status415UnsupportedMediaType, "Unsupported media type"),
        FarmNotFoundException => (StatusCodes.Status404NotFound, "Not found"),
        FarmQuotaException => (StatusCodes.Status429TooManyRequests, "Quota exceeded"),
        FarmInputException or ArgumentException or FormatException => (StatusCodes.Status400BadRequest, "Bad request"),
        _ => (StatusCodes.Status500InternalServerError, "Internal error"),
    };

    /// <summary>The JSON reader's answer to a Content-Type charset .NET does not know (utf-7, say).</summary>
    private static bool IsUnknownCharset(Exception error) =>
        error.Message.Contains("charset", StringComparison.OrdinalIgnoreCase) || error.Message.Contains("encoding", StringComparison.OrdinalIgnoreCase);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Method} {Path} answered {Status}: {Detail}")]
    private static partial void LogClientError(ILogger logger, string method, string path, int status, string detail);
}
