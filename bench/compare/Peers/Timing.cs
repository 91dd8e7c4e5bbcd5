using System.Diagnostics;
using System.Text.Json.Nodes;

namespace VitSharp.Bench.Peers;

/// <summary>The timing loop every peer shares (the same as PyTorch's in peers.py and VitSharp's InferenceBenchmark).</summary>
internal static class Timing
{
    public static List<double> Passes(Action pass, int warmup, int iterations, double seconds)
    {
        for (int i = 0; i < warmup; i++) pass();
        var latencies = new List<double>();
        var clock = Stopwatch.StartNew();
        while (latencies.Count < iterations || clock.Elapsed.TotalSeconds < seconds)
        {
            long start = Stopwatch.GetTimestamp();
            pass();
            latencies.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }
        return latencies;
    }

    public static double Percentile(IReadOnlyList<double> values, double p)
    {
        var sorted = values.Order().ToArray();
        return sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
    }

    public static JsonObject Result(string peer, string arch, string size, int batch, string dtype, int threads, List<double> latencies) => new()
    {
        ["peer"] = peer,
        ["arch"] = arch,
        ["size"] = size,
        ["batch"] = batch,
        ["dtype"] = dtype,
        ["threads"] = threads,
        ["iterations"] = latencies.Count,
        ["images_per_s"] = Math.Round(latencies.Count * batch / (latencies.Sum() / 1000), 3),
        ["p50_ms"] = Math.Round(Percentile(latencies, 0.5), 3),
        ["p95_ms"] = Math.Round(Percentile(latencies, 0.95), 3),
    };
}
