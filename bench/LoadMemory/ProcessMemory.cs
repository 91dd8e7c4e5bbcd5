namespace VitSharp.Bench.LoadMemory;

/// <summary>
/// Resident memory from /proc/self/status. It counts native allocations (libtorch tensor storage) that the .NET
/// GC knows nothing about, and VmHWM is the peak since the process started.
/// </summary>
internal static class ProcessMemory
{
    public static long CurrentBytes() => Read("VmRSS:");

    public static long PeakBytes() => Read("VmHWM:");

    private static long Read(string field)
    {
        string line = File.ReadLines("/proc/self/status").First(l => l.StartsWith(field, StringComparison.Ordinal));
        // The line reads e.g. "VmHWM:    123456 kB".
        return long.Parse(line[field.Length..].Trim().Split(' ')[0]) * 1024;
    }
}
