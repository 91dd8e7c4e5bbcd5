using TorchSharp;
using VitSharp.Models;
using VitSharp.PosEmbed;
using static TorchSharp.torch;

namespace VitSharp.Benchmarking;

/// <summary>What to time: one input shape, one batch size, one precision.</summary>
/// <param name="Size">Input height × width in pixels.</param>
/// <param name="Batch">Images per forward pass.</param>
/// <param name="DType">Float32, or BFloat16 (weights and input converted once, before timing).</param>
/// <param name="Warmup">Untimed passes first: they pay for the first-call costs (allocator, kernels, the resampled position table).</param>
/// <param name="MinIterations">Timed passes at least.</param>
/// <param name="MinSeconds">Keep timing until this much time has passed (and <paramref name="MinIterations"/> are done).</param>
/// <param name="WarmupSeconds">Keep warming up until this much time has passed (see <see cref="PassTimer"/> for why).</param>
public sealed record InferenceBenchmarkCase(GridSize Size, int Batch, ScalarType DType, int Warmup = 3, int MinIterations = 10, double MinSeconds = 3, double WarmupSeconds = 5);

/// <summary>The timing of one <see cref="InferenceBenchmarkCase"/>.</summary>
/// <param name="Case">What was timed.</param>
/// <param name="Iterations">Timed forward passes.</param>
/// <param name="LatenciesMs">Each timed pass, in milliseconds, in the order they ran.</param>
/// <param name="FlopsPerImage">Operations of one image (<see cref="VitFlops"/>).</param>
public sealed record InferenceBenchmarkResult(InferenceBenchmarkCase Case, int Iterations, IReadOnlyList<double> LatenciesMs, double FlopsPerImage)
{
    public double TotalSeconds => LatenciesMs.Sum() / 1000;

    /// <summary>Images over the total timed time (the mean rate, not the rate of the median pass).</summary>
    public double ImagesPerSecond => Iterations * Case.Batch / TotalSeconds;

    public double P50Ms => Percentile(0.50);
    public double P95Ms => Percentile(0.95);

    /// <summary>Achieved billions of operations per second at <see cref="ImagesPerSecond"/>.</summary>
    public double Gflops => FlopsPerImage * ImagesPerSecond / 1e9;

    /// <summary>Nearest-rank percentile of the pass latencies.</summary>
    public double Percentile(double p) => PassTimer.Percentile(LatenciesMs, p);
}

/// <summary>
/// Times a model's forward pass the way it serves: evaluation mode, inside <c>torch.inference_mode</c> (no autograd
/// records, no version counters), on one input reused for every pass, each pass's output disposed at once. A pass
/// is timed to the end of its computation: on CPU libtorch returns when the work is done; on CUDA the timer
/// synchronises the device first.
/// </summary>
public static class InferenceBenchmark
{
    public static InferenceBenchmarkResult Run(VisionTransformer model, InferenceBenchmarkCase benchCase, Device? device = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(benchCase.Batch, 1);
        if (benchCase.DType is not (ScalarType.Float32 or ScalarType.BFloat16))
            throw new ArgumentException($"benchmarks run in float32 or bfloat16, not {benchCase.DType}");
        device ??= model.PosEmbedParameter.device;
        model.PatchEmbed.GridFor(benchCase.Size); // a size the model cannot take fails here, with its reason
        model.eval();

        using var input = randn([benchCase.Batch, model.Config.InChans, benchCase.Size.Height, benchCase.Size.Width], dtype: benchCase.DType, device: device);
        List<double> latencies;
        using (inference_mode())
            latencies = PassTimer.Time(() => Pass(model, input, device), benchCase.Warmup, benchCase.MinIterations, benchCase.MinSeconds, benchCase.WarmupSeconds);
        return new InferenceBenchmarkResult(benchCase, latencies.Count, latencies, VitFlops.PerImage(model.Config, benchCase.Size));
    }

    private static void Pass(VisionTransformer model, Tensor input, Device device)
    {
        using var output = model.call(input);
        if (device.type == DeviceType.CUDA) cuda.synchronize(device);
    }
}
