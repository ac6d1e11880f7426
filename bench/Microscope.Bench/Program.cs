using Microscope.Bench;

return args.FirstOrDefault() switch
{
    "gradient" => GradientBenchmark.Run(args[1..]),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: bench/run <benchmark> [options]\n  gradient [--quick]   forward vs forward+gradient on resnet18");
    return 2;
}
