using Microscope.Farm.Api;
using Microscope.Farm.Grains;
using Microscope.Farm.Host;
using Microscope.Farm.ServiceDefaults;

// Configuration files sit beside the program; data paths (Farm:Store:Path) are relative to where it runs.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
var farm = builder.Configuration.GetSection(FarmHostOptions.Section).Get<FarmHostOptions>() ?? new();
farm.Validate();

builder.AddFarmServiceDefaults(farm.Role);
builder.Logging.AddSimpleConsole(o =>
{
    o.SingleLine = true;
    o.TimestampFormat = "HH:mm:ss ";
});

// Orleans 10.4's watchdog starts its platform thread before it stamps when the component check began,
// so on a busy machine its first look reads a zero stamp and logs "Participant check thread has not
// completed for <the machine's uptime>" at every start: a false alarm. Its findings still reach the
// silo's health score (LocalSiloHealthMonitor) through the health event recorder.
builder.Logging.AddFilter("Orleans.Runtime.Watchdog", LogLevel.Error);

// A start that fails is reported once, below or by the runtime as the unhandled exception it is;
// the host's own "Hosting failed to start" would print the same stack trace again.
builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.Critical);
builder.Services.AddFarmApi();
builder.WebHost.UseUrls(farm.Http.Url);
builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = farm.Cluster.ShutdownTimeout);
builder.Services.AddSingleton(farm);
builder.Services.AddFarmLensStore(farm);
builder.UseOrleans(silo => silo
    .ConfigureFarmCluster(farm)
    .AddFarmGrains(o => builder.Configuration.GetSection(SchedulingOptions.Section).Bind(o)));
if (farm.Renders)
{
    builder.Services.AddFarmRendering(farm, builder.Configuration);
}

if (farm.ServesApi)
{
    builder.Services.AddHostedService<FarmBootstrap>();
}

var app = builder.Build();
// Only a render silo touches the ML engine: an api silo never loads ONNX Runtime (ApiRoleTests reads its mapped files).
if (farm.Renders && !app.Services.RenderDeviceReady())
{
    return 1;
}

app.UseFarmProblems();
app.UseFarmAccess();
app.UseRateLimiter();
app.MapFarmServiceDefaults();
if (farm.ServesApi)
{
    app.MapFarmApi();
    app.MapFarmUi();
}

try
{
    app.Run();
}
catch (Exception e) when (AzureStorage.ApiVersionRefusal(e) is { } refusal)
{
    // One line an operator can act on, not the SDK's stack trace.
    app.Logger.LogCritical("The storage service refused the Azure SDK's API version ({Refusal}). With Azurite, start it with --skipApiVersionCheck --loose (tools/azurite/start.sh does), or use a newer Azurite.", refusal);
    return 1;
}

return 0;
