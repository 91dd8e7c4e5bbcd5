using VitSharp.Benchmarking;
using VitSharp.Kernels;
using VitSharp.Native;
using static TorchSharp.torch;

namespace VitSharp.Bench.Peers;

/// <summary>
/// The machine's matmul ceiling through libtorch (the kernels every TorchSharp model uses): the best rate of a
/// large square product, fp32 and bf16, over repeated timed rounds. In fp32 each of libtorch's kernels is timed:
/// its <c>matmul</c> (MKL's SGEMM), oneDNN given a plain weight (<see cref="OneDnnLinear"/>, which reorders it on every
/// call) and oneDNN from a weight packed once (<see cref="OneDnnPackedLinear"/>, what VitSharp's packed linear
/// layers use on x86-64); the ceiling is the fastest. On a CPU without AMX or AVX-512-BF16, bf16 is emulated and slower than fp32:
/// the figure says so.
/// </summary>
internal static class MatmulCeiling
{
    public static int Run(Args a)
    {
        TorchRuntime.EnsureLoaded();
        int threads = a.Int("--threads"), n = a.Int("--n", 2048);
        set_num_threads(threads);
        var cases = new List<(string Name, ScalarType DType, string Kernel)> { ("fp32", ScalarType.Float32, "matmul") };
        if (OneDnnLinear.IsAvailable) cases.Add(("fp32", ScalarType.Float32, "onednn"));
        if (OneDnnPackedLinear.IsAvailable) cases.Add(("fp32", ScalarType.Float32, "onednn-packed"));
        if (a.Int("--bf16", 1) == 1) cases.Add(("bf16", ScalarType.BFloat16, "matmul"));
        foreach (var (name, dtype, kernel) in cases)
        {
            using var x = randn(n, n).to(dtype);
            using var y = randn(n, n).to(dtype);
            using var _ = inference_mode();
            // x·yᵀ through the kernels, x·y through matmul: the same work. The kernels compute only after their check
            // on this shape, which the first (untimed) call runs; a refused shape is reported instead of timed.
            using var pack = kernel == "onednn-packed" ? PackedLinearWeight.TryPack(y) : null;
            Func<Tensor?> run = kernel switch
            {
                "onednn" => () => OneDnnLinear.TryForward(x, y, null, n),
                "onednn-packed" => () => OneDnnPackedLinear.TryForward(x, n, pack!, null),
                _ => () => x.matmul(y),
            };
            using (var first = run())
                if (first is null) { Console.Error.WriteLine($"matmul ceiling: {kernel} disagrees with libtorch at {n}x{n}x{n}: not timed"); continue; }
            Action product = () => { using var z = run(); };
            var latencies = PassTimer.Time(product, a.Int("--warmup", 2), a.Int("--iterations", 5), a.Double("--seconds", 3));
            double best = latencies.Min() / 1000;
            var result = new System.Text.Json.Nodes.JsonObject
            {
                ["peer"] = "matmul-ceiling",
                ["dtype"] = name,
                ["kernel"] = kernel,
                ["n"] = n,
                ["threads"] = threads,
                ["gflops_best"] = Math.Round(2.0 * n * n * n / best / 1e9, 1),
                ["gflops_median"] = Math.Round(2.0 * n * n * n / (PassTimer.Percentile(latencies, 0.5) / 1000) / 1e9, 1),
            };
            Console.WriteLine(result.ToJsonString());
        }
        return 0;
    }
}
