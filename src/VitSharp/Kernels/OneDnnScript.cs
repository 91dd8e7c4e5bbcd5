using System.Runtime.InteropServices;
using VitSharp.Native;
using static TorchSharp.torch;

namespace VitSharp.Kernels;

/// <summary>
/// Compiles a TorchScript that calls libtorch's oneDNN operators. libtorch exposes these operators to TorchScript (its
/// C++ front end resolves <c>torch.*</c> to <c>aten::</c> operators) but TorchSharp binds none of them. Whether the
/// compiled function is right is not decided here: each shape it serves is checked first (<see cref="KernelChecks"/>).
/// </summary>
internal static class OneDnnScript
{
    /// <summary>The compiled unit, or null where oneDNN's kernels are not offered: not x86-64 (where they were never measured), or a libtorch without oneDNN.</summary>
    public static jit.CompilationUnit? Compile(string script)
    {
        if (RuntimeInformation.ProcessArchitecture != Architecture.X64) return null;
        TorchRuntime.EnsureLoaded();
        try
        {
            return jit.compile(script + "\n"); // the parser wants the last line ended
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return null; // a libtorch built without oneDNN throws here ("not compiled with MKLDNN support")
        }
    }
}
