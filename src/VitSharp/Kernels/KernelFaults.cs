using VitSharp.Native;
using static TorchSharp.torch;

namespace VitSharp.Kernels;

/// <summary>
/// Makes fast kernels wrong on chosen signatures, for tests only: the kernels of this machine are right, and the
/// checks, the fallback and the reports must be shown to work on a kernel that is not. A kernel passes each result
/// through <see cref="Apply{TSignature}"/>, which costs one read of a static field when no fault is set.
/// </summary>
internal static class KernelFaults
{
    private static volatile Func<IKernelSignature, bool>? corrupts;

    /// <summary>From now until the returned handle is disposed, results of signatures that <paramref name="corrupts"/> picks come out 10 % too large.</summary>
    public static IDisposable Inject(Func<IKernelSignature, bool> corrupts)
    {
        KernelFaults.corrupts = corrupts;
        return new Reset();
    }

    public static Tensor Apply<TSignature>(in TSignature signature, Tensor result) where TSignature : struct, IKernelSignature
    {
        if (corrupts is not { } picks || !picks(signature)) return result;
        using (result) return result.Times(1.1);
    }

    private sealed class Reset : IDisposable
    {
        public void Dispose() => corrupts = null;
    }
}
