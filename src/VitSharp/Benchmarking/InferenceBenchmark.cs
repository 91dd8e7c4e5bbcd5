using TorchSharp;
using VitSharp.Kernels;
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
/// <param name="Check">How the timed configuration's output compared with libtorch's reference path, before timing.</param>
public sealed record InferenceBenchmarkResult(InferenceBenchmarkCase Case, int Iterations, IReadOnlyList<double> LatenciesMs, double FlopsPerImage, ReferenceCheck Check)
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

/// <summary>How a benchmark's subject compared with libtorch's reference path on the benchmark's own input, before it was timed.</summary>
/// <param name="MaxError">The largest difference of the outputs (logits, or features without a head).</param>
/// <param name="Tolerance">What it had to stay within: float32 noise over a whole model, or bfloat16's precision.</param>
/// <param name="KernelCheckMs">The time the first pass spent checking fast kernels on shapes this process had not seen (<see cref="KernelChecks"/>).</param>
public sealed record ReferenceCheck(double MaxError, double Tolerance, double KernelCheckMs);

/// <summary>
/// Times a model's forward pass the way it serves: evaluation mode, inside <c>torch.inference_mode</c> (no autograd
/// records, no version counters), on one input reused for every pass, each pass's output disposed at once. A pass
/// is timed to the end of its computation: on CPU libtorch returns when the work is done; on CUDA the timer
/// synchronises the device first. Before any timing, the configuration's output is compared with the same model on
/// libtorch's reference path (BLAS linear layers, the explicit attention): a fast answer that is wrong is not timed.
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
        ReferenceCheck check;
        using (inference_mode())
        {
            check = CheckAgainstReference(model, input);
            latencies = PassTimer.Time(() => Pass(model, input, device), benchCase.Warmup, benchCase.MinIterations, benchCase.MinSeconds, benchCase.WarmupSeconds);
        }
        return new InferenceBenchmarkResult(benchCase, latencies.Count, latencies, VitFlops.PerImage(model.Config, benchCase.Size), check);
    }

    /// <summary>
    /// The model's output on <paramref name="input"/> as configured against its output with the reference kernels;
    /// throws where they differ by more than float32 noise over a whole model (10⁻³ of the output's largest magnitude)
    /// or, in bfloat16, 5 % of it. A wrong kernel was off by 10–90 % (docs/kernels.md).
    /// </summary>
    internal static ReferenceCheck CheckAgainstReference(VisionTransformer model, Tensor input)
    {
        var (attention, linear) = (model.AttentionKernel, model.LinearKernel);
        int checksBefore = KernelChecks.Results.Count;
        using var actual = model.call(input).to(ScalarType.Float32);
        double checkMs = KernelChecks.Results.Skip(checksBefore).Sum(c => c.Elapsed.TotalMilliseconds);
        Tensor expected;
        try
        {
            (model.AttentionKernel, model.LinearKernel) = (AttentionKernel.Math, LinearKernel.Blas);
            expected = model.call(input).to(ScalarType.Float32);
        }
        finally
        {
            (model.AttentionKernel, model.LinearKernel) = (attention, linear);
        }
        using (expected)
        using (var difference = (actual - expected).abs().max())
        using (var magnitude = expected.abs().max())
        {
            double error = difference.item<float>(), scale = magnitude.item<float>();
            double tolerance = (input.dtype == ScalarType.Float32 ? 1e-3 : 0.05) * scale + 1e-6;
            if (!(error <= tolerance))
                throw new InvalidOperationException($"the configuration to be timed ({attention} attention, {linear} linear, {input.dtype}) gives outputs {error:g3} away from libtorch's reference path (allowed {tolerance:g3}); not timed");
            return new ReferenceCheck(error, tolerance, checkMs);
        }
    }

    private static void Pass(VisionTransformer model, Tensor input, Device device)
    {
        using var output = model.call(input);
        if (device.type == DeviceType.CUDA) cuda.synchronize(device);
    }
}
