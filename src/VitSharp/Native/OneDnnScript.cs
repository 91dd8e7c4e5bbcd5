using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace VitSharp.Native;

/// <summary>
/// Compiles a TorchScript that calls libtorch's oneDNN operators, and keeps it only if a probe on a small input agrees
/// with libtorch's own result. libtorch exposes these operators to TorchScript (its C++ front end resolves
/// <c>torch.*</c> to <c>aten::</c> operators) but TorchSharp binds none of them.
/// </summary>
internal static class OneDnnScript
{
    /// <summary>The compiled unit, or null where oneDNN's float32 kernels are not used: not x86-64 (where they were never measured), a libtorch without oneDNN, or a probe that disagrees.</summary>
    public static jit.CompilationUnit? CompileAndProbe(string script, Func<jit.CompilationUnit, bool> probeAgrees)
    {
        if (RuntimeInformation.ProcessArchitecture != Architecture.X64) return null;
        TorchRuntime.EnsureLoaded();
        jit.CompilationUnit? unit = null;
        try
        {
            unit = jit.compile(script + "\n"); // the parser wants the last line ended
            bool agrees;
            using (NewDisposeScope())
            using (no_grad())
                agrees = probeAgrees(unit);
            return agrees ? unit : Discard(unit);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A libtorch built without oneDNN throws here ("not compiled with MKLDNN support"): keep libtorch's kernels.
            return Discard(unit);
        }
    }

    private static jit.CompilationUnit? Discard(jit.CompilationUnit? unit)
    {
        unit?.Dispose();
        return null;
    }
}
