using VitSharp.Benchmarking;
using Microsoft.ML.OnnxRuntime;
using VitSharp.IO;

namespace VitSharp.Bench.Peers;

/// <summary>
/// ONNX Runtime from C#, on peers.py's export of the same weights: all graph optimisations (the highest level,
/// including the fusions of LayerNorm, GELU and attention), intra-op threads as asked, sequential execution.
/// The output for peers.py's check input is compared with PyTorch's before any timing.
/// </summary>
internal static class OrtPeer
{
    public static int Run(Args a)
    {
        var (h, w) = a.Size();
        int batch = a.Int("--batch"), threads = a.Int("--threads");
        using var options = SessionOptionsFor(threads);
        using var session = new InferenceSession(a.Text("--model"), options);
        using var runOptions = new RunOptions();

        float[] Forward(float[] input, int n)
        {
            using var value = OrtValue.CreateTensorValueFromMemory(input, [n, 3, h, w]);
            using var outputs = session.Run(runOptions, ["input"], [value], ["logits"]);
            return outputs[0].GetTensorDataAsSpan<float>().ToArray();
        }

        using (var check = SafeTensors.Read(a.Text("--check")))
        {
            var input = check.Get("input");
            var expected = check.Get("logits").data<float>().ToArray();
            var actual = Forward(input.data<float>().ToArray(), (int)input.shape[0]);
            double error = expected.Zip(actual, (e, x) => Math.Abs((double)e - x)).Max();
            if (error > 1e-3) throw new InvalidOperationException($"ONNX Runtime's logits differ from PyTorch's by {error:E2}");
            Console.Error.WriteLine($"onnxruntime: max |logit - pytorch| = {error:E2}");
        }

        var data = RandomImages(batch, h, w);
        var latencies = PassTimer.Time(() => Forward(data, batch), a.Int("--warmup", 3), a.Int("--iterations", 10), a.Double("--seconds", 5), a.Double("--warmup-seconds", 5));
        var result = Timing.Result("onnxruntime", a.Text("--arch"), $"{h}x{w}", batch, "fp32", threads, latencies);
        result["version"] = typeof(InferenceSession).Assembly.GetName().Version?.ToString();
        Console.WriteLine(result.ToJsonString());
        return 0;
    }

    /// <summary>The session options every ONNX Runtime measurement uses: all graph optimisations, <paramref name="threads"/> intra-op threads, sequential.</summary>
    internal static SessionOptions SessionOptionsFor(int threads) => new()
    {
        GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        IntraOpNumThreads = threads,
        InterOpNumThreads = 1,
        ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
    };

    /// <summary>The timed input: <paramref name="batch"/> images of <paramref name="h"/>×<paramref name="w"/>, uniform in [-1, 1), seeded.</summary>
    internal static float[] RandomImages(int batch, int h, int w)
    {
        var data = new float[batch * 3 * h * w];
        var random = new Random(0);
        for (int i = 0; i < data.Length; i++) data[i] = (float)(random.NextDouble() * 2 - 1);
        return data;
    }
}
