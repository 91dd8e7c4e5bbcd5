namespace VitSharp.Tests;

/// <summary>
/// Runs code while another thread keeps collecting garbage and running finalizers: the window in which a TorchSharp
/// object that nothing keeps alive (a Scalar made for one native call) is freed while libtorch still reads it. The tests
/// that do this run alone, since the collections would put every other test running meanwhile at the same risk.
/// </summary>
[CollectionDefinition(nameof(GarbageCollectionStress), DisableParallelization = true)]
public sealed class GarbageCollectionStress
{
    /// <summary>Calls <paramref name="action"/> for at least <paramref name="duration"/> (and 2000 times) under collections; returns how many times.</summary>
    public static int WhileCollecting(TimeSpan duration, Action action)
    {
        using var stop = new CancellationTokenSource();
        var collector = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }
        });
        collector.Start();
        try
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            int calls = 0;
            while (clock.Elapsed < duration || calls < 2000)
            {
                action();
                calls++;
            }
            return calls;
        }
        finally
        {
            stop.Cancel();
            collector.Join();
        }
    }
}
