using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.ML.OnnxRuntime;

namespace VitSharp.Bench.Peers;

/// <summary>
/// Where ONNX Runtime spends a forward pass, to set beside <c>vitsharp bench --profile</c>: its own profiler on, the
/// same session options as <see cref="OrtPeer"/>, passes for <c>--seconds</c>, and then the kernel time of every node
/// kind (operator and output shape) per pass, over the passes after the first <c>--warmup</c>. The profiler adds a
/// little to every node, so the whole pass comes out some 10 % slower than <see cref="OrtPeer"/> times it; the shares
/// are what it is for.
/// </summary>
internal static class OrtProfile
{
    public static int Run(Args a)
    {
        var (h, w) = a.Size();
        int batch = a.Int("--batch"), threads = a.Int("--threads"), warmup = a.Int("--warmup", 10);
        double seconds = a.Double("--seconds", 5);
        using var options = OrtPeer.SessionOptionsFor(threads);
        options.EnableProfiling = true;
        options.ProfileOutputPathPrefix = Path.Combine(Path.GetTempPath(), $"vitsharp-ort-profile-{Environment.ProcessId}");
        using var session = new InferenceSession(a.Text("--model"), options);
        using var runOptions = new RunOptions();
        var data = OrtPeer.RandomImages(batch, h, w);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (int pass = 0; pass < warmup || clock.Elapsed.TotalSeconds < seconds; pass++)
        {
            using var value = OrtValue.CreateTensorValueFromMemory(data, [batch, 3, h, w]);
            using var outputs = session.Run(runOptions, ["input"], [value], ["logits"]);
        }
        string file = session.EndProfiling();
        try
        {
            Print(JsonNode.Parse(File.ReadAllText(file))!.AsArray(), warmup, $"{a.Text("--arch", "model")} {h}x{w} batch {batch}, {threads} threads");
        }
        finally
        {
            File.Delete(file);
        }
        return 0;
    }

    private static void Print(JsonArray events, int warmup, string title)
    {
        var runs = events.Where(e => (string?)e!["cat"] == "Session" && (string?)e["name"] == "model_run")
            .Select(e => ((long)e!["ts"]!, (long)e["dur"]!)).OrderBy(r => r.Item1).Skip(warmup).ToList();
        if (runs.Count == 0) throw new InvalidOperationException("no pass after the warm-up was profiled: raise --seconds");
        long from = runs[0].Item1;
        var kinds = new Dictionary<string, (double Micros, int Count)>();
        foreach (var e in events)
        {
            if ((string?)e!["cat"] != "Node" || (long)e["ts"]! < from || !((string?)e["name"])!.EndsWith("_kernel_time", StringComparison.Ordinal)) continue;
            var args = e["args"]!;
            string kind = $"{args["op_name"]} -> {Shape(args["output_type_shape"])}";
            var (micros, count) = kinds.GetValueOrDefault(kind);
            kinds[kind] = (micros + (long)e["dur"]!, count + 1);
        }
        double pass = runs.Average(r => r.Item2) / 1000;
        Console.WriteLine($"ONNX Runtime, {title}: {runs.Count} passes profiled, {pass:F2} ms a pass");
        Console.WriteLine($"  {"node kind (operator -> output shape)",-72} {"ms/pass",8} {"share",7} {"nodes",6}");
        foreach (var (kind, (micros, count)) in kinds.OrderByDescending(k => k.Value.Micros))
        {
            double ms = micros / runs.Count / 1000;
            if (ms < 0.01) continue;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {kind,-72} {ms,8:F2} {100 * ms / pass,6:F1}% {(double)count / runs.Count,6:F0}"));
        }
    }

    private static string Shape(JsonNode? shapes) =>
        shapes is JsonArray list ? string.Join(", ", list.Select(s => s is JsonObject o ? string.Join(",", o.Select(kv => $"{kv.Key}[{string.Join("x", kv.Value!.AsArray().Select(d => (long)d!))}]")) : "?")) : "?";
}
