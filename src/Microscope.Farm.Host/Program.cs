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
if (!app.Services.RenderDeviceReady())
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

app.Run();
return 0;
