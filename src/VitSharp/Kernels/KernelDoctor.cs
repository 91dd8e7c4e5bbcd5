using System.Diagnostics;

namespace VitSharp.Kernels;

/// <summary>One row of a doctor's report: a sweep entry and its check.</summary>
public sealed record DoctorRow(SweepEntry Entry, KernelCheckResult Check);

/// <summary>What <see cref="KernelDoctor.Run"/> found.</summary>
/// <param name="Machine">The machine the checks ran on.</param>
/// <param name="Size">The sweep it ran.</param>
/// <param name="Rows">Every kernel on every signature, in sweep order.</param>
/// <param name="Elapsed">The time all checks took.</param>
public sealed record DoctorReport(MachineInfo Machine, SweepSize Size, IReadOnlyList<DoctorRow> Rows, TimeSpan Elapsed)
{
    /// <summary>The rows where <c>Auto</c> would use a kernel that disagrees with libtorch (and so runs libtorch's path there instead).</summary>
    public IReadOnlyList<DoctorRow> AutoDisagreements => [.. Rows.Where(r => r.Entry.UsedByAuto && !r.Check.Agrees)];

    /// <summary>Whether every kernel <c>Auto</c> would use agrees with libtorch on every signature of the sweep.</summary>
    public bool AutoKernelsAgree => AutoDisagreements.Count == 0;
}

/// <summary>
/// Checks every fast kernel against libtorch's reference over the shapes of the registry's models (<see cref="KernelSweep"/>),
/// in this process and with its thread count, by the same checks that gate the kernels in use (<see cref="KernelChecks"/>).
/// </summary>
public static class KernelDoctor
{
    /// <summary>Runs the sweep; <paramref name="progress"/> hears of each check as it completes.</summary>
    public static DoctorReport Run(SweepSize size, IProgress<DoctorRow>? progress = null, CancellationToken cancellationToken = default)
    {
        var machine = MachineInfo.Current();
        long start = Stopwatch.GetTimestamp();
        var rows = new List<DoctorRow>();
        foreach (var entry in KernelSweep.Entries(size))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var row = new DoctorRow(entry, entry.Run());
            rows.Add(row);
            progress?.Report(row);
        }
        return new DoctorReport(machine, size, rows, Stopwatch.GetElapsedTime(start));
    }
}
