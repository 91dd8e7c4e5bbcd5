using VitSharp.Kernels;

namespace VitSharp.Tests.Kernels;

/// <summary>Reading bfloat16 support from /proc/cpuinfo text, which decides whether bf16 users are warned.</summary>
public class CpuFeaturesTests
{
    private const string Avx2Only = "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu sse2 avx avx2 fma\nbugs\t\t: sysret_ss_attrs\n\nprocessor\t: 1\nflags\t\t: fpu sse2 avx avx2 fma\n";

    [Fact]
    public void Avx512_bf16_or_amx_bf16_in_a_flags_line_count()
    {
        Assert.True(CpuFeatures.HasBf16Flags(Avx2Only.Replace("avx2 fma\nbugs", "avx2 avx512f avx512_bf16 fma\nbugs", StringComparison.Ordinal)));
        Assert.True(CpuFeatures.HasBf16Flags("flags\t\t: sse2 amx_bf16 amx_tile\n"));
    }

    [Fact]
    public void Other_flags_and_other_lines_do_not()
    {
        Assert.False(CpuFeatures.HasBf16Flags(Avx2Only));
        Assert.False(CpuFeatures.HasBf16Flags("flags\t\t: avx512f avx512bw avx512_vnni\n"));
        // A flag with bf16 in it but not one of the two, and the name in a line that is not the flags line.
        Assert.False(CpuFeatures.HasBf16Flags("flags\t\t: avx512_fp16 avx_vnni\nmodel name\t: pretend avx512_bf16\n"));
    }

    [Fact]
    public void This_machine_agrees_with_its_cpuinfo()
    {
        if (!File.Exists(CpuFeatures.CpuInfoPath)) return;
        string text = File.ReadAllText(CpuFeatures.CpuInfoPath);
        bool expected = text.Contains(" avx512_bf16", StringComparison.Ordinal) || text.Contains(" amx_bf16", StringComparison.Ordinal);
        Assert.Equal(expected, CpuFeatures.HasBf16Instructions());
        Assert.Equal(expected, CpuFeatures.Bf16Warning() is null);
    }
}
