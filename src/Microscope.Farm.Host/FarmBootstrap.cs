using System.Globalization;
using Microscope.Farm.Api;
using Microscope.Farm.Storage;
using Microscope.Organisms;

namespace Microscope.Farm.Host;

/// <summary>
/// On the api role: hands the configured built-in organisms to model intake (their files staged in the
/// lens store, catalogued by a render silo: this role never runs a model), waits until they are
/// registered, submits the default job (idempotent on its client token, so a restart resumes it instead of
/// starting over), and prints its progress and where to look.
/// </summary>
internal sealed partial class FarmBootstrap(
    IGrainFactory grains,
    ILensStore store,
    FarmHostOptions farm,
    IHostApplicationLifetime lifetime,
    ILogger<FarmBootstrap> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await WhenStartedAsync(stoppingToken);
        var intakes = new List<ModelIntakeStatus>();
        foreach (var id in farm.Organisms)
        {
            var package = await ModelPackage.ReadAsync(OrganismRegistry.Default.Resolve(id), stoppingToken);
            var intake = await ModelIntake.StartAsync(grains, store, package, "", stoppingToken);
            if (intake.State == ModelIntakeState.Pending)
            {
                LogPending(logger, intake.Model, intake.Version, intake.Job ?? "");
            }

            intakes.Add(intake);
        }

        foreach (var intake in intakes)
        {
            var done = await ModelIntake.WaitAsync(grains, intake.Model, TimeSpan.FromSeconds(1), stoppingToken);
            if (done.State == ModelIntakeState.Failed)
            {
                LogRefused(logger, done.Model, done.Reason ?? "");
                continue;
            }

            var model = (await grains.GetGrain<IModelGrain>(done.Model).GetAsync())!;
            LogRegistered(logger, model.Id, model.Version, model.Layers.Count, model.TotalUnits);
        }

        if (!farm.DefaultJob.Enabled)
        {
            LogReady(logger, farm.Http.Url);
            return;
        }

        var job = await SubmitDefaultJobAsync();
        await FollowAsync(job, stoppingToken);
    }

    private async Task<JobStatus> SubmitDefaultJobAsync()
    {
        var d = farm.DefaultJob;
        var model = await grains.GetGrain<IModelGrain>(d.Model).GetAsync()
            ?? throw new InvalidOperationException($"the default job's model '{d.Model}' is not registered; add it to Farm:Organisms.");
        var spec = new JobSpec
        {
            Model = d.Model,
            Lenses = d.Lenses,
            Layers = d.Layers,
            Units = d.Units,
            Options = new LensOptions { Steps = d.Steps, Size = d.Size },
            UnitsPerItem = d.UnitsPerItem,
            Priority = d.Priority,

            // One default job per model version and options: a restart finds it and resumes.
            ClientToken = string.Create(CultureInfo.InvariantCulture, $"default-{model.Version}-{new LensOptions { Steps = d.Steps, Size = d.Size }.Hash()}-{string.Join("+", d.Lenses)}"),
        };
        var job = await grains.GetGrain<IJobDirectoryGrain>(0).SubmitAsync(spec);
        if (job.State == JobState.Paused)
        {
            // Found paused from an earlier run: say so, and how to go on, rather than "rendering".
            LogDefaultJobPaused(logger, job.Id, job.Counts.Total, job.Counts.Done, d.Model, farm.Http.Url);
        }
        else
        {
            LogDefaultJob(logger, job.Id, job.Counts.Total, job.Counts.Done, d.Model, farm.Http.Url);
        }

        return job;
    }

    /// <summary>A progress line every ten seconds until the job ends, with a link to the newest results.</summary>
    private async Task FollowAsync(JobStatus job, CancellationToken stoppingToken)
    {
        var printedFirst = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            var status = await grains.GetGrain<IJobGrain>(job.Id).GetStatusAsync();
            var c = status.Counts;
            var eta = status.State == JobState.Paused ? $"paused (resume: POST {farm.Http.Url}/api/jobs/{status.Id}/resume)"
                : status.EtaSeconds is { } s ? "ETA " + TimeSpan.FromSeconds(Math.Round(s)).ToString() : "ETA measuring";
            LogProgress(logger, status.Id, Bar(c), c.Done, c.Total, c.Running, c.Failed, eta);
            if (!printedFirst && c.Done > 0)
            {
                printedFirst = true;
                var first = status.Spec.Layers.FirstOrDefault() ?? (await grains.GetGrain<IModelGrain>(status.Spec.Model).GetAsync())!.Layers[0].Id;
                LogFirst(logger, $"{farm.Http.Url}/api/models/{status.Spec.Model}/layers/{first}/units/0/lenses/{status.Spec.Lenses.FirstOrDefault() ?? "featurevis"}");
            }

            if (status.IsFinished)
            {
                LogFinished(logger, status.Id, status.State, c.Done, c.Failed);
                return;
            }

            await Task.Delay(TimeSpan.FromSeconds(10), stoppingToken);
        }
    }

    private static string Bar(JobCounts c)
    {
        const int width = 30;
        var filled = c.Total == 0 ? width : (int)Math.Round(width * (double)c.Done / c.Total);
        return "[" + new string('#', filled) + new string('.', width - filled) + "]";
    }

    private Task WhenStartedAsync(CancellationToken stoppingToken)
    {
        var started = new TaskCompletionSource();
        lifetime.ApplicationStarted.Register(started.SetResult);
        stoppingToken.Register(() => started.TrySetCanceled());
        return started.Task;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {Model} version {Version}: {Layers} layers, {Units} units")]
    private static partial void LogRegistered(ILogger logger, string model, string version, int layers, int units);

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {Model} version {Version}: staged; a render silo catalogues it (intake job {Job})")]
    private static partial void LogPending(ILogger logger, string model, string version, string job);

    [LoggerMessage(Level = LogLevel.Error, Message = "Model {Model} was not registered: {Reason}")]
    private static partial void LogRefused(ILogger logger, string model, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "The farm is up: {Url}/api/models, {Url}/api/jobs, {Url}/healthz, {Url}/metrics")]
    private static partial void LogReady(ILogger logger, string url);

    [LoggerMessage(Level = LogLevel.Information, Message = "Default job {Job}: {Total} work items ({Done} already done) rendering {Model} layer by layer, early layers first. Follow it at {Url}/api/jobs/{Job}; models at {Url}/api/models")]
    private static partial void LogDefaultJob(ILogger logger, string job, int total, int done, string model, string url);

    [LoggerMessage(Level = LogLevel.Information, Message = "Default job {Job} is paused: {Done} of {Total} work items of {Model} done, nothing renders until it is resumed (POST {Url}/api/jobs/{Job}/resume)")]
    private static partial void LogDefaultJobPaused(ILogger logger, string job, int total, int done, string model, string url);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Job} {Bar} {Done}/{Total} items, {Running} rendering, {Failed} failed, {Eta}")]
    private static partial void LogProgress(ILogger logger, string job, string bar, int done, int total, int running, int failed, string eta);

    [LoggerMessage(Level = LogLevel.Information, Message = "First results: {Url}")]
    private static partial void LogFirst(ILogger logger, string url);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {Job} {State}: {Done} items done, {Failed} failed")]
    private static partial void LogFinished(ILogger logger, string job, JobState state, int done, int failed);
}
