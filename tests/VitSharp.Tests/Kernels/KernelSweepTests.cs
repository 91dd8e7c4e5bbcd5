using VitSharp.Kernels;
using static TorchSharp.torch;

namespace VitSharp.Tests.Kernels;

/// <summary>
/// Every fast kernel against libtorch's reference at the real shapes that <c>vitsharp doctor --quick</c> checks:
/// ViT-S/16 and ViT-B/16 at 224×224 (197 tokens, 384 and 768 wide, MLPs of 1536 and 3072), batch 1 and 8, heads
/// of 10 to 21,843 classes, bfloat16 packs where the CPU has them, the training shapes with gradients, and widths and
/// token counts that went wrong on other CPUs. <c>test.sh</c> runs these also under <c>ONEDNN_MAX_CPU_ISA=AVX2</c> and
/// <c>AVX512_CORE</c>, so one host covers more of oneDNN's kernels than its own.
/// </summary>
[Trait("Category", "Kernels")]
public class KernelSweepTests
{
    [Fact]
    public void Every_fast_kernel_agrees_with_libtorch_at_the_real_shapes_of_vit_s16_and_vit_b16()
    {
        var report = KernelDoctor.Run(SweepSize.Quick);
        var machine = report.Machine;
        var wrong = report.Rows.Where(r => !r.Check.Agrees).Select(r => $"{r.Check} (in {r.Entry.Where[0]})").ToList();
        Assert.True(wrong.Count == 0,
            $"on {machine.CpuModel} (family {machine.CpuFamily}, oneDNN ISA {machine.OneDnnIsa}, {machine.Threads} threads):\n{string.Join('\n', wrong)}");
    }

    [Fact]
    public void The_quick_sweep_covers_the_real_shapes()
    {
        var entries = KernelSweep.Entries(SweepSize.Quick);
        if (!OneDnnPackedLinear.IsAvailable) return; // not x86-64: no fast kernel is offered
        int threads = get_num_threads();
        string s = threads == 1 ? "" : "s";
        void Has(string kernel, string signature) =>
            Assert.Contains(entries, e => e.Kernel == kernel && e.Signature == signature);
        Has("oneDNN packed linear", $"197×384→1152, bias, float32, {threads} thread{s}");     // ViT-S/16 qkv, batch 1
        Has("oneDNN packed linear", $"198×384→1152, bias, float32, {threads} thread{s}");     // ...on one more row
        Has("oneDNN packed linear", $"1576×3072→768, bias, float32, {threads} thread{s}");    // ViT-B/16 fc2, batch 8
        Has("oneDNN packed linear", $"1×768→1000, bias, float32, {threads} thread{s}");       // an ImageNet head
        Has("oneDNN packed linear", $"8×384→21843, bias, float32, {threads} thread{s}");      // an ImageNet-21k head
        Has("oneDNN packed linear", $"197×384→1008, bias, float32, {threads} thread{s}");     // a width that went wrong: padded to 1152
        Has("oneDNN linear", $"197×384→112, bias, float32, {threads} thread{s}");             // one too narrow to pad: unpacked only
        Assert.DoesNotContain(entries, e => e.Kernel == "oneDNN packed linear" && e.Signature.StartsWith("197×384→112,", StringComparison.Ordinal));
        Has("oneDNN linear", $"1576×768→3072, bias, with gradients, float32, {threads} thread{s}");
        Has("oneDNN attention", $"batch 8, 197 tokens, 12 heads of 64, float32, {threads} thread{s}");
        Has("oneDNN attention", $"batch 1, 65 tokens, 6 heads of 64, float32, {threads} thread{s}");
        if (CpuFeatures.OneDnnRunsBfloat16()) Has("oneDNN packed linear", $"1576×768→3072, bias, bfloat16, {threads} thread{s}");
        Assert.Equal(entries.Count, entries.Select(e => (e.Kernel, e.Signature)).Distinct().Count());
        Assert.DoesNotContain(entries, e => e.UsedByAuto && e.Kernel == "oneDNN attention"); // only when asked for
    }
}
