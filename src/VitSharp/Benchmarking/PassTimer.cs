using System.Diagnostics;

namespace VitSharp.Benchmarking;

/// <summary>
/// The timing loop of every benchmark, VitSharp's and its peers' in <c>bench/compare</c> alike, so that they are
/// measured the same way: untimed warm-up passes (a minimum count and a minimum time), then passes timed one by one
/// until both a minimum count and a minimum time are reached.
/// </summary>
/// <remarks>
/// The warm-up needs time as well as passes: for its first seconds the .NET runtime recompiles hot methods on a
/// background thread (tiered compilation). On a 2-core machine that thread takes a core from libtorch's two OpenMP
/// threads, whose barriers then spin, and a small model ran at a third of its speed for a dozen passes after a
/// 3-pass warm-up (Fashion-MNIST hybrid, batch 128: about 500 against 1,300–1,500 images/s; after 2 s of warm-up
/// still 500–700, after 5 s the steady rate; with <c>DOTNET_TieredCompilation=0</c> the slow phase did not occur).
/// </remarks>
public static class PassTimer
{
    /// <summary>The latency of each timed pass, in milliseconds, in the order they ran.</summary>
    public static List<double> Time(Action pass, int warmup, int minIterations, double minSeconds, double warmupSeconds = 0)
    {
        var warming = Stopwatch.StartNew();
        for (int i = 0; i < warmup || warming.Elapsed.TotalSeconds < warmupSeconds; i++) pass();
        var latencies = new List<double>();
        var clock = Stopwatch.StartNew();
        while (latencies.Count < minIterations || clock.Elapsed.TotalSeconds < minSeconds)
        {
            long start = Stopwatch.GetTimestamp();
            pass();
            latencies.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }
        return latencies;
    }

    /// <summary>Nearest-rank percentile (<paramref name="p"/> in [0, 1]) of <paramref name="latencies"/>.</summary>
    public static double Percentile(IReadOnlyList<double> latencies, double p)
    {
        var sorted = latencies.Order().ToArray();
        return sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
    }
}
