using Microscope.Bench;

return args.FirstOrDefault() switch
{
    "gradient" => GradientBenchmark.Run(args[1..]),
    "architectures" => ArchitectureBenchmark.Run(args[1..]),
    "featurevis" => LensBenchmarks.FeatureVisualization(args[1..]),
    "loops" => LensBenchmarks.Loops(args[1..]),
    "dataset-examples" => LensBenchmarks.DatasetExamples(args[1..]),
    "dataset-model" => DatasetModelBenchmark.Run(args[1..]),
    "quality" => LensBenchmarks.Quality(args[1..]),
    "scheduling" => SchedulingBenchmark.Run(args[1..]),
    "render-memory" => RenderMemoryBenchmark.Run(args[1..]),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("""
        usage: bench/run <benchmark> [options]
          gradient [--quick]                 forward vs forward+gradient on resnet18
          architectures                      by family (CNN, channels-last, windowed and global attention): layers found
                                             and hidden, worst gradient-check error, step time vs forward
          featurevis [--steps N]             seconds per unit at 512 steps, batch 1 and 32, resnet18
          loops [--steps N] [--rounds N] [--layers a,b] [--batches 1,8]
                                             host loop vs device-resident loop, seconds per step, resnet18
          dataset-examples [--images N]      images per second with all layers captured vs the forward pass alone
          dataset-model [--images N] [--shards N] [--no-cli] [--unit-sample N] [--farm-seconds N]
                                             resnet18's 34 layers: scan vs forward pass, mosaics per unit, the CLI's whole job,
                                             a dataset job on 1 vs 4 silos (simulated device, timed from this run)
          quality [--steps N] [--units N] [--no-relu-redirect | --both]
                                             feature visualization activation / top dataset example activation, dead renders
          render-memory [--steps N] [--loop host|device]
                                             estimated vs measured memory of a feature-visualization pass, resnet18, batch 1 to 8
          scheduling [--silos 1,2,4,8] [--slots 2] [--seconds 6] [--render-ms 50] [--layer-units 512] [--json-state] [--without-records]
                                             render silos on a simulated device: lenses per second vs ideal, overhead per item
        """);
    return 2;
}
