using System.Text.Json.Nodes;
using VitSharp.Benchmarking;

namespace VitSharp.Bench.Peers;

/// <summary>The JSON line every C# peer prints; the timing itself is VitSharp's <see cref="PassTimer"/>, the loop peers.py copies for PyTorch.</summary>
internal static class Timing
{
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
        ["p50_ms"] = Math.Round(PassTimer.Percentile(latencies, 0.5), 3),
        ["p95_ms"] = Math.Round(PassTimer.Percentile(latencies, 0.95), 3),
    };
}
