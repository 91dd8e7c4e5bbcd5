using VitSharp.Kernels;

namespace VitSharp.Tests.Kernels;

public class MachineInfoTests
{
    private static HashSet<string> Flags(string text) => [.. text.Split(' ')];

    [Fact]
    public void The_oneDNN_isa_is_the_best_the_flags_allow_under_the_cap()
    {
        const string avx2 = "sse4_1 avx avx2 fma";
        const string zen4 = avx2 + " avx512f avx512bw avx512vl avx512dq avx512_vnni avx512_bf16";
        Assert.Equal("avx2", MachineInfo.OneDnnIsaFor(Flags(avx2), null));
        Assert.Equal("avx512_core_bf16", MachineInfo.OneDnnIsaFor(Flags(zen4), null));
        Assert.Equal("avx512_core_amx", MachineInfo.OneDnnIsaFor(Flags(zen4 + " amx_tile amx_bf16 amx_int8"), null));
        Assert.Equal("avx2", MachineInfo.OneDnnIsaFor(Flags(zen4), "AVX2"));
        Assert.Equal("avx512_core", MachineInfo.OneDnnIsaFor(Flags(zen4), "AVX512_CORE"));
        Assert.Equal("avx2_vnni", MachineInfo.OneDnnIsaFor(Flags(avx2 + " avx_vnni"), null));
        Assert.StartsWith("avx2 (the cap AVX512_CORE", MachineInfo.OneDnnIsaFor(Flags(avx2), "AVX512_CORE"));
    }

    [Fact]
    public void This_machine_is_described()
    {
        var machine = MachineInfo.Current();
        Assert.False(string.IsNullOrWhiteSpace(machine.CpuModel));
        Assert.True(machine.Threads >= 1 && machine.Cores >= 1);
        Assert.StartsWith("2.", machine.LibTorch);
        Assert.StartsWith("0.107", machine.TorchSharp);
        if (OperatingSystem.IsLinux()) Assert.NotNull(machine.CpuFamily);
    }
}
