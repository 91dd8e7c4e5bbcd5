using System.Text.Json.Nodes;
using static VitSharp.Tests.Cli.CliRun;

namespace VitSharp.Tests.Cli;

/// <summary><c>vitsharp bench</c>, on tiny sizes so that it runs in a fraction of a second.</summary>
// Alone: --threads 1 changes libtorch's process-wide thread count while it runs, and a pack serves only at the count
// it was made at (tests elsewhere check which layers ran packed).
[CollectionDefinition(nameof(BenchCliTests), DisableParallelization = true)]
[Collection(nameof(BenchCliTests))]
public class BenchCliTests
{
    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    [Fact]
    public void Json_gives_one_object_per_configuration_with_the_documented_fields()
    {
        var (code, stdout, err) = Run("bench", "--arch", "vit_tiny_patch16_224", "--size", "32", "48x32", "--batch", "1", "2",
            "--dtype", "fp32", "bf16", "--attention", "fused", "math", "--warmup", "1", "--warmup-seconds", "0", "--iterations", "2", "--seconds", "0", "--threads", "1", "--json");
        Assert.True(code == 0, err);
        var rows = Lines(stdout).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        Assert.Equal(2 * 2 * 2 * 2, rows.Count);
        foreach (var row in rows)
        {
            foreach (string key in new[] { "arch", "size", "batch", "dtype", "attention", "threads", "images_per_s", "p50_ms", "p95_ms", "gflops" })
                Assert.True(row.ContainsKey(key), $"missing {key} in {row.ToJsonString()}");
            Assert.Equal("vit_tiny_patch16_224", (string)row["arch"]!);
            Assert.Equal(1, (int)row["threads"]!);
            Assert.True((double)row["images_per_s"]! > 0 && (double)row["gflops"]! > 0);
            Assert.True((double)row["p50_ms"]! <= (double)row["p95_ms"]!);
        }
        Assert.Equal(["32x32", "48x32"], rows.Select(r => (string)r["size"]!).Distinct().Order());
        Assert.Equal(["bf16", "fp32"], rows.Select(r => (string)r["dtype"]!).Distinct().Order());
        Assert.Equal(["fused", "math"], rows.Select(r => (string)r["attention"]!).Distinct().Order());
    }

    [Fact]
    public void The_table_times_a_checkpoint_at_its_own_size_by_default()
    {
        string weights = Fixtures.Path_("models", "vit_timm_rect.weights.safetensors");
        var (code, stdout, err) = Run("bench", "--weights", weights, "--config", Fixtures.Path_("models", "vit_timm_rect.json"),
            "--batch", "2", "--iterations", "2", "--seconds", "0", "--warmup", "0", "--warmup-seconds", "0");
        Assert.True(code == 0, err);
        var lines = Lines(stdout);
        Assert.Contains("vit_timm_rect.weights.safetensors on cpu", lines[0]);
        Assert.StartsWith("size", lines[1]);
        Assert.Matches(@"^32x48\s+2\s+fp32\s+auto\s+auto\s+(on|off)\s+\d", lines[2]);
    }

    [Fact]
    public void Linear_times_each_kernel_asked_for()
    {
        var (code, stdout, err) = Run("bench", "--arch", "vit_tiny_patch16_224", "--size", "32", "--batch", "1", "--linear", "blas", "onednn",
            "--warmup", "0", "--warmup-seconds", "0", "--iterations", "1", "--seconds", "0", "--threads", "1", "--json");
        Assert.True(code == 0, err);
        var rows = Lines(stdout).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        Assert.Equal(["blas", "onednn"], rows.Select(r => (string)r["linear"]!));
    }

    [Fact]
    public void Pack_times_the_model_with_and_without_packed_weights()
    {
        var (code, stdout, err) = Run("bench", "--arch", "vit_tiny_patch16_224", "--size", "32", "--batch", "1", "--pack", "on", "off", "--dtype", "fp32", "bf16",
            "--warmup", "0", "--warmup-seconds", "0", "--iterations", "1", "--seconds", "0", "--threads", "1", "--json");
        Assert.True(code == 0, err);
        var rows = Lines(stdout).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        Assert.Equal(4, rows.Count);
        // ViT-Ti: 12 blocks of qkv, proj, fc1 and fc2, and the head, on the CPU; bf16 only where it has bf16 instructions.
        int expected = VitSharp.Kernels.OneDnnPackedLinear.IsAvailable ? 4 * 12 + 1 : 0;
        int expectedBf16 = VitSharp.Kernels.CpuFeatures.OneDnnRunsBfloat16() ? expected : 0;
        Assert.Equal([expected, 0, expectedBf16, 0], rows.Select(r => (int)r["packed_layers"]!));
        Assert.Equal(["fp32", "fp32", "bf16", "bf16"], rows.Select(r => (string)r["dtype"]!));
    }

    [Theory]
    [InlineData(new[] { "bench", "--arch", "vit_tiny_patch16_224", "--pack", "maybe" }, "--pack 'maybe' is not supported; expected on or off")]
    [InlineData(new[] { "bench", "--arch", "vit_tiny_patch16_224", "--size", "33" }, "not divisible by the patch size 16")]
    [InlineData(new[] { "bench", "--arch", "vit_tiny_patch16_224", "--dtype", "fp8" }, "--dtype 'fp8' is not supported")]
    [InlineData(new[] { "bench", "--arch", "vit_tiny_patch16_224", "--attention", "flash" }, "--attention 'flash' is not supported")]
    [InlineData(new[] { "bench", "--arch", "vit_tiny_patch16_224", "--linear", "mkl" }, "--linear 'mkl' is not supported; expected auto, blas or onednn")]
    [InlineData(new[] { "bench" }, "give --arch NAME")]
    [InlineData(new[] { "bench", "--arch", "vit_tiny_patch16_224", "--batch", "0" }, "--batch needs positive")]
    public void Bad_options_fail_with_the_reason(string[] args, string reason)
    {
        var (code, _, err) = Run(args);
        Assert.Equal(1, code);
        Assert.Contains(reason, err);
    }

    [Fact]
    public void Check_compares_every_configuration_with_pytorchs_logits_before_timing_it()
    {
        using var fixture = Fixtures.Tensors("models", "vit_timm_rect.io.safetensors");
        string dir = Directory.CreateTempSubdirectory("vitsharp-bench-check-").FullName;
        try
        {
            string good = Path.Combine(dir, "good.safetensors"), wrong = Path.Combine(dir, "wrong.safetensors");
            var input = fixture.Get("input.32x48");
            var logits = fixture.Get("logits.32x48");
            VitSharp.IO.SafeTensors.Write(good, new Dictionary<string, TorchSharp.torch.Tensor> { ["input"] = input, ["logits"] = logits });
            VitSharp.IO.SafeTensors.Write(wrong, new Dictionary<string, TorchSharp.torch.Tensor> { ["input"] = input, ["logits"] = logits * 1.1 });
            string[] Args(string check) => ["bench", "--weights", Fixtures.Path_("models", "vit_timm_rect.weights.safetensors"), "--config", Fixtures.Path_("models", "vit_timm_rect.json"),
                "--size", "32x48", "--batch", "2", "--linear", "blas", "onednn", "--iterations", "1", "--seconds", "0", "--warmup", "0", "--warmup-seconds", "0", "--check", check, "--json"];

            var (code, stdout, err) = Run(Args(good));
            Assert.True(code == 0, err);
            var rows = Lines(stdout).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
            Assert.Equal(2, rows.Count);
            Assert.All(rows, row => Assert.InRange((double)row["pytorch_max_error"]!, 0, 1e-4));

            (code, stdout, err) = Run(Args(wrong));
            Assert.Equal(1, code);
            Assert.Contains("differ from PyTorch's", err);
            Assert.Contains("not timed", err);
            Assert.Empty(Lines(stdout));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
