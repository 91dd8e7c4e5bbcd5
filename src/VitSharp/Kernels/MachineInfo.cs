using System.Reflection;
using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace VitSharp.Kernels;

/// <summary>What decides which kernels run here and how: the CPU, its instruction sets, the ISA oneDNN may use, threads and versions.</summary>
/// <param name="CpuModel">The CPU's model name (<c>/proc/cpuinfo</c>), or the architecture where it cannot be read.</param>
/// <param name="CpuFamily">Its <c>cpu family</c>, model and stepping, as <c>/proc/cpuinfo</c> gives them ("25/17/1"), or null.</param>
/// <param name="InstructionSets">The instruction sets among those the kernels care about (AVX2, AVX-512 subsets, AMX).</param>
/// <param name="OneDnnIsa">The instruction set oneDNN dispatches to: the best the CPU has, capped by <c>ONEDNN_MAX_CPU_ISA</c> (derived from the flags the way oneDNN names them; libtorch does not export oneDNN's own query).</param>
/// <param name="OneDnnIsaCap">The value of <c>ONEDNN_MAX_CPU_ISA</c> (or <c>DNNL_MAX_CPU_ISA</c>), if set.</param>
/// <param name="Cores">Logical processors.</param>
/// <param name="Threads">libtorch's intra-op thread count.</param>
/// <param name="LibTorch">libtorch's version.</param>
/// <param name="TorchSharp">TorchSharp's version.</param>
/// <param name="Runtime">The .NET runtime and OS.</param>
public sealed record MachineInfo(string CpuModel, string? CpuFamily, IReadOnlyList<string> InstructionSets, string OneDnnIsa, string? OneDnnIsaCap,
    int Cores, int Threads, string LibTorch, string TorchSharp, string Runtime)
{
    private static readonly string[] KernelFlags =
        ["avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_vnni", "avx512_bf16", "avx512_fp16", "avx512_vp2intersect", "amx_tile", "amx_bf16", "amx_int8"];

    /// <summary>This machine, as the process sees it now.</summary>
    public static MachineInfo Current()
    {
        string? cpuInfo = null;
        try
        {
            if (OperatingSystem.IsLinux() && File.Exists(CpuFeatures.CpuInfoPath)) cpuInfo = File.ReadAllText(CpuFeatures.CpuInfoPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
        var fields = cpuInfo is null ? new Dictionary<string, string>() : FirstProcessor(cpuInfo);
        var flags = fields.TryGetValue("flags", out var flagText) ? flagText.Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal) : [];
        string? family = fields.TryGetValue("cpu family", out var f) ? $"{f}/{fields.GetValueOrDefault("model", "?")}/{fields.GetValueOrDefault("stepping", "?")}" : null;
        string? cap = Environment.GetEnvironmentVariable("ONEDNN_MAX_CPU_ISA") ?? Environment.GetEnvironmentVariable("DNNL_MAX_CPU_ISA");
        var torchSharp = typeof(TorchSharp.torch).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "?";
        return new MachineInfo(
            fields.GetValueOrDefault("model name", RuntimeInformation.ProcessArchitecture.ToString()),
            family,
            [.. KernelFlags.Where(flags.Contains)],
            RuntimeInformation.ProcessArchitecture == Architecture.X64 ? OneDnnIsaFor(flags, cap) : "none (oneDNN's kernels are used on x86-64 only)",
            cap,
            Environment.ProcessorCount,
            get_num_threads(),
            __version__,
            torchSharp.Split('+')[0],
            $"{RuntimeInformation.FrameworkDescription}, {RuntimeInformation.OSDescription}");
    }

    /// <summary>The ISA oneDNN picks for these CPU flags under the cap <paramref name="cap"/> (oneDNN's names, lower case).</summary>
    internal static string OneDnnIsaFor(IReadOnlySet<string> flags, string? cap)
    {
        // oneDNN's ISA ladder for x86-64, best last; each step needs everything of the ones before.
        var ladder = new (string Isa, string[] Needs)[]
        {
            ("sse41", ["sse4_1"]),
            ("avx", ["avx"]),
            ("avx2", ["avx2", "fma"]),
            ("avx2_vnni", ["avx_vnni"]),
            ("avx512_core", ["avx512f", "avx512bw", "avx512vl", "avx512dq"]),
            ("avx512_core_vnni", ["avx512_vnni"]),
            ("avx512_core_bf16", ["avx512_bf16"]),
            ("avx512_core_amx", ["amx_tile", "amx_bf16", "amx_int8"]),
        };
        string best = "none";
        foreach (var (isa, needs) in ladder)
        {
            // avx2_vnni is a side branch (AVX-VNNI without AVX-512): skip it when it is absent, it gates nothing after.
            if (!needs.All(flags.Contains))
            {
                if (isa == "avx2_vnni") continue;
                break;
            }
            best = isa;
            if (cap is not null && string.Equals(isa, cap, StringComparison.OrdinalIgnoreCase)) break;
        }
        return cap is null || string.Equals(best, cap, StringComparison.OrdinalIgnoreCase) ? best : $"{best} (the cap {cap} is above what this CPU has, or not one of oneDNN's names)";
    }

    /// <summary>The fields of the first processor in a cpuinfo text.</summary>
    private static Dictionary<string, string> FirstProcessor(string cpuInfo)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in cpuInfo.Split('\n'))
        {
            if (line.Trim().Length == 0 && fields.Count > 0) break;
            int colon = line.IndexOf(':');
            if (colon > 0) fields.TryAdd(line[..colon].Trim(), line[(colon + 1)..].Trim());
        }
        return fields;
    }
}
