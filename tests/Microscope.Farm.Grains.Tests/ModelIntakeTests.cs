using Microscope.Onnx;

namespace Microscope.Farm.Grains.Tests;

/// <summary>
/// Model intake in the cluster: the model grain starts an intake job of one item, a worker runs it
/// (here a scripted catalog), and the status reads pending, then ready or failed with the reason.
/// </summary>
[Collection(FarmClusterCollection.Name)]
public class ModelIntakeTests(FarmClusterFixture farm)
{
    [Fact]
    public async Task An_intake_is_pending_until_a_worker_registers_the_model_and_failed_with_the_catalogs_reason()
    {
        farm.Engine.Intake = item => item.Model == "refused"
            ? throw new ModelFormatException("upload: the model has no image input (a 4-D float tensor)")
            : farm.Client.GetGrain<IModelGrain>(item.Model).RegisterAsync(Samples.Model(item.Model, item.ModelVersion) with { Edges = [new LayerEdgeInfo("conv1", "conv2")] });
        try
        {
            var taken = farm.Client.GetGrain<IModelGrain>("taken-in");
            Assert.Null(await taken.IntakeStatusAsync());
            var pending = await taken.StartIntakeAsync("00000000000000aa", "tester");
            Assert.Equal(ModelIntakeState.Pending, pending.State);
            Assert.Contains("-intake-", pending.Job, StringComparison.Ordinal);
            var job = await farm.Client.GetGrain<IJobGrain>(pending.Job!).GetStatusAsync();
            Assert.Equal(int.MaxValue, job.Spec.Priority);
            Assert.Equal("00000000000000aa", job.ModelVersion);

            var ready = await ReadAsync(taken, s => s.State != ModelIntakeState.Pending);
            Assert.Equal(ModelIntakeState.Ready, ready.State);
            Assert.Equal("00000000000000aa", (await taken.GetAsync())!.Version);

            // The same version again is the same intake: ready, no second job.
            Assert.Equal(pending.Job, (await taken.StartIntakeAsync("00000000000000aa", "tester")).Job);

            var refused = farm.Client.GetGrain<IModelGrain>("refused");
            var first = await refused.StartIntakeAsync("00000000000000bb", "tester");
            var failed = await ReadAsync(refused, s => s.State != ModelIntakeState.Pending);
            Assert.Equal(ModelIntakeState.Failed, failed.State);
            Assert.Equal("upload: the model has no image input (a 4-D float tensor)", failed.Reason);
            Assert.Null(await refused.GetAsync());

            // A failed intake is started again when asked: a new job.
            var again = await refused.StartIntakeAsync("00000000000000bb", "tester");
            Assert.NotEqual(first.Job, again.Job);
            Assert.Equal(ModelIntakeState.Pending, again.State);
            await ReadAsync(refused, s => s.State == ModelIntakeState.Failed);
        }
        finally
        {
            farm.Engine.Intake = null;
        }
    }

    private static async Task<ModelIntakeStatus> ReadAsync(IModelGrain model, Func<ModelIntakeStatus, bool> until)
    {
        ModelIntakeStatus? status = null;
        await FarmClusterFixture.EventuallyAsync(async () => (status = await model.IntakeStatusAsync()) is { } s && until(s), "the intake's status");
        return status!;
    }
}
