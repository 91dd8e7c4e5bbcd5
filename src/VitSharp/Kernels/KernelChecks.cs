using System.Collections.Concurrent;
using System.Diagnostics;

namespace VitSharp.Kernels;

/// <summary>
/// The outcome of checking one fast kernel against libtorch's reference on one shape signature.
/// </summary>
/// <param name="Kernel">Which kernel, e.g. "oneDNN packed linear".</param>
/// <param name="Signature">The shape signature it was checked on, e.g. "197×384→1000, bias, float32, 2 threads".</param>
/// <param name="MaxError">The largest absolute difference from the reference.</param>
/// <param name="WorstRatio">The largest difference as a multiple of its element's tolerance: at most 1 where the kernel agrees.</param>
/// <param name="Agrees">Whether the kernel may compute this signature.</param>
/// <param name="Elapsed">What the check cost.</param>
/// <param name="Failure">Why the kernel could not run at all, where it failed instead of computing.</param>
public sealed record KernelCheckResult(string Kernel, string Signature, double MaxError, double WorstRatio, bool Agrees, TimeSpan Elapsed, string? Failure = null)
{
    /// <summary>One line for a person: kernel, signature, verdict and error.</summary>
    public override string ToString() => Failure is not null
        ? $"{Kernel} at {Signature}: could not run ({Failure})"
        : $"{Kernel} at {Signature}: {(Agrees ? "agrees" : "DISAGREES")} with libtorch (max error {MaxError:g3}, {WorstRatio:g3}× the tolerance)";
}

/// <summary>One shape signature of one fast kernel: everything its result may depend on besides the numbers.</summary>
internal interface IKernelSignature
{
    /// <summary>The kernel's name, as reports give it.</summary>
    string Kernel { get; }

    /// <summary>The signature as reports give it.</summary>
    string Describe();

    /// <summary>Runs the kernel and libtorch's reference on seeded random data of exactly this signature.</summary>
    ErrorMeasure Check();
}

/// <summary>
/// The rule that every fast kernel obeys: it computes nothing for a shape signature (rows and features, or batch,
/// tokens, heads and head width, with dtype and thread count) until, in this process, it has reproduced libtorch's
/// reference on that exact signature within floating-point noise (<see cref="ErrorBounds"/>). The first call of a
/// signature runs the check; every later call reads the verdict. A signature that disagrees is refused for the rest
/// of the process, its callers compute the reference instead, and <see cref="Disagreed"/> is raised once for it.
/// <para>
/// Why: oneDNN's kernels are chosen per CPU, per shape and per thread count, and a kernel right on one machine was
/// wrong on another at some shapes only (docs/kernels.md). A probe of one shape proves nothing about the next.
/// </para>
/// </summary>
public static class KernelChecks
{
    private static readonly ConcurrentQueue<KernelCheckResult> Log = new();

    /// <summary>Raised once for each signature on which a fast kernel disagreed with the reference (and is not used from then on).</summary>
    public static event EventHandler<KernelCheckResult>? Disagreed;

    /// <summary>Raised for every check, whatever its outcome (on the thread that needed it).</summary>
    public static event EventHandler<KernelCheckResult>? Checked;

    /// <summary>Every check this process has run, in order.</summary>
    public static IReadOnlyList<KernelCheckResult> Results => [.. Log];

    /// <summary>Whether the kernel of <paramref name="signature"/> may compute it: checks it on first use, reads the verdict after.</summary>
    internal static bool Agrees<TSignature>(in TSignature signature) where TSignature : struct, IKernelSignature, IEquatable<TSignature> =>
        Verdicts<TSignature>.Get(signature).Agrees;

    /// <summary>The verdict on <paramref name="signature"/>, checking it first if this process has not.</summary>
    internal static KernelCheckResult Verdict<TSignature>(in TSignature signature) where TSignature : struct, IKernelSignature, IEquatable<TSignature> =>
        Verdicts<TSignature>.Get(signature);

    private static KernelCheckResult Run(IKernelSignature signature)
    {
        long start = Stopwatch.GetTimestamp();
        KernelCheckResult result;
        try
        {
            var measure = signature.Check();
            result = new KernelCheckResult(signature.Kernel, signature.Describe(), measure.MaxError, measure.WorstRatio, measure.Agrees, Stopwatch.GetElapsedTime(start));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A kernel that throws (an error code from libtorch, a schema that changed) is as unusable as a wrong one.
            result = new KernelCheckResult(signature.Kernel, signature.Describe(), double.NaN, double.PositiveInfinity, false, Stopwatch.GetElapsedTime(start), e.Message);
        }
        Log.Enqueue(result);
        Checked?.Invoke(null, result);
        if (!result.Agrees) Disagreed?.Invoke(null, result);
        return result;
    }

    /// <summary>One table of verdicts per signature type: no boxing on the per-call lookup.</summary>
    private static class Verdicts<TSignature> where TSignature : struct, IKernelSignature, IEquatable<TSignature>
    {
        private static readonly ConcurrentDictionary<TSignature, Lazy<KernelCheckResult>> Table = new();

        public static KernelCheckResult Get(in TSignature signature)
        {
            if (Table.TryGetValue(signature, out var known)) return known.Value;
            var copy = signature;
            // One check per signature even when several threads meet it at once: the others wait for its verdict.
            return Table.GetOrAdd(signature, _ => new Lazy<KernelCheckResult>(() => Run(copy), LazyThreadSafetyMode.ExecutionAndPublication)).Value;
        }
    }
}
