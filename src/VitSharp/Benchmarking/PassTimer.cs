using System.Diagnostics;

namespace VitSharp.Benchmarking;

/// <summary>
/// The timing loop of every benchmark, VitSharp's and its peers' in <c>bench/compare</c> alike, so that they are
/// measured the same way: untimed warm-up passes, then passes timed one by one until both a minimum count and a
/// minimum time are reached.
/// </summary>
public static class PassTimer
{
    /// <summary>The latency of each timed pass, in milliseconds, in the order they ran.</summary>
    public static List<double> Time(Action pass, int warmup, int minIterations, double minSeconds)
    {
        for (int i = 0; i < warmup; i++) pass();
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
