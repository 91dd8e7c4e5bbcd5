namespace VitSharp.Kernels;

/// <summary>What the CPU offers that decides whether a fast path pays (read from <c>/proc/cpuinfo</c> on Linux).</summary>
public static class CpuFeatures
{
    /// <summary>
    /// Whether the CPU has bfloat16 dot-product instructions (AVX-512-BF16 or AMX-BF16), without which libtorch's
    /// bfloat16 matmuls fall back to slow conversions (an AVX2 machine trained 25x slower in bf16 than in fp32);
    /// null where it cannot be told (not Linux, or the file unreadable).
    /// </summary>
    public static bool? HasBf16Instructions()
    {
        try
        {
            return OperatingSystem.IsLinux() && File.Exists(CpuInfoPath) ? HasBf16Flags(File.ReadAllText(CpuInfoPath)) : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The warning a bf16 user gets when the CPU is known to lack those instructions; null otherwise.</summary>
    public static string? Bf16Warning() => HasBf16Instructions() == false
        ? "this CPU has no AVX-512-BF16 or AMX-BF16 instructions: bf16 runs slower here than fp32"
        : null;

    internal const string CpuInfoPath = "/proc/cpuinfo";

    private static readonly Lazy<string> EffectiveOneDnnIsa = new(() => MachineInfo.Current().OneDnnIsa);

    /// <summary>
    /// Whether oneDNN may run bfloat16 products here: the CPU has the instructions and oneDNN's instruction set, capped
    /// by <c>ONEDNN_MAX_CPU_ISA</c>, includes them (under a lower cap libtorch refuses to pack bfloat16 weights).
    /// </summary>
    public static bool OneDnnRunsBfloat16() =>
        HasBf16Instructions() == true && EffectiveOneDnnIsa.Value is "avx512_core_bf16" or "avx512_core_amx";

    /// <summary>True when any <c>flags</c> line of a cpuinfo text names avx512_bf16 or amx_bf16.</summary>
    internal static bool HasBf16Flags(string cpuInfo) =>
        cpuInfo.Split('\n')
            .Where(line => line.StartsWith("flags", StringComparison.Ordinal))
            .SelectMany(line => line[(line.IndexOf(':') + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Any(flag => flag is "avx512_bf16" or "amx_bf16");
}
