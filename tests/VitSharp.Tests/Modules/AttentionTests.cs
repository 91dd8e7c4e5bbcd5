using VitSharp.Modules;
using static TorchSharp.torch;

namespace VitSharp.Tests.Modules;

public class AttentionTests
{
    [Theory]
    [InlineData(50)]
    [InlineData(101)]
    public void Every_kernel_gives_the_same_output_and_input_gradient(int tokens)
    {
        using var attention = new Attention(64, 4, qkvBias: true, attnDropRate: 0, projDropRate: 0);
        attention.train();
        manual_seed(3);
        using var x = randn(3, tokens, 64);
        var results = new Dictionary<AttentionKernel, (Tensor Output, Tensor Grad)>();
        foreach (var kernel in Enum.GetValues<AttentionKernel>())
        {
            attention.Kernel = kernel;
            using var input = x.clone().requires_grad_(true);
            var output = attention.call(input);
            output.square().sum().backward();
            results[kernel] = (output.detach(), input.grad!.clone());
        }
        foreach (var kernel in new[] { AttentionKernel.Auto, AttentionKernel.Math, AttentionKernel.OneDnn })
        {
            Fixtures.AssertClose(results[kernel].Output, results[AttentionKernel.Fused].Output, $"{kernel} output", 1e-5);
            Fixtures.AssertClose(results[kernel].Grad, results[AttentionKernel.Fused].Grad, $"{kernel} input gradient", 1e-4);
        }
    }

    [Fact]
    public void Auto_takes_oneDNN_for_float32_inference_with_small_score_matrices_and_wide_heads()
    {
        if (!VitSharp.Native.OneDnnAttention.IsAvailable) return; // not x86-64: LinearKernelTests checks it must not be
        using var attention = new Attention(128, 2, qkvBias: true, attnDropRate: 0.1, projDropRate: 0) { Kernel = AttentionKernel.Auto };
        attention.eval();
        long tokens = 197, batchAtLimit = Attention.AutoOneDnnMaxScores / (2 * tokens * tokens); // heads of 64
        using var atLimit = zeros(batchAtLimit, tokens, 128);
        using var overLimit = zeros(batchAtLimit + 1, tokens, 128);
        using (no_grad())
        {
            Assert.True(attention.UsesOneDnn(atLimit));
            Assert.False(attention.UsesOneDnn(overLimit));
            using var bf16 = atLimit.to(ScalarType.BFloat16);
            Assert.False(attention.UsesOneDnn(bf16));
            attention.train(); // with attention dropout: the fused kernel, which has it
            Assert.False(attention.UsesOneDnn(atLimit));
            attention.eval();
        }
        Assert.False(attention.UsesOneDnn(atLimit)); // gradients: the rule was measured for inference only
        using var narrowHeads = new Attention(128, 8, qkvBias: true, attnDropRate: 0, projDropRate: 0) { Kernel = AttentionKernel.Auto };
        using (no_grad())
            Assert.False(narrowHeads.UsesOneDnn(atLimit)); // heads of 16
        attention.Kernel = AttentionKernel.OneDnn;
        Assert.True(attention.UsesOneDnn(overLimit)); // forced: any size, with gradients too
    }

    [Fact]
    public void Auto_takes_the_explicit_path_up_to_its_token_limit_on_the_cpu()
    {
        using var attention = new Attention(32, 2, qkvBias: true, attnDropRate: 0, projDropRate: 0) { Kernel = AttentionKernel.Auto };
        using var shortSequence = zeros(1, Attention.AutoMathMaxTokens, 32);
        using var longSequence = zeros(1, Attention.AutoMathMaxTokens + 1, 32);
        Assert.True(attention.UsesMath(shortSequence));
        Assert.False(attention.UsesMath(longSequence));
        // In bfloat16 the limit is on batch x heads x tokens^2 (2 heads here), with or without gradients.
        long batchAtLimit = Attention.AutoMathMaxScoresReducedPrecision / (2 * 100 * 100);
        using var atLimit = zeros([batchAtLimit, 100, 32], dtype: ScalarType.BFloat16);
        using var overLimit = zeros([batchAtLimit + 1, 100, 32], dtype: ScalarType.BFloat16);
        using var longAsBf16 = longSequence.to(ScalarType.BFloat16);
        Assert.True(attention.UsesMath(atLimit));
        Assert.False(attention.UsesMath(overLimit));
        Assert.True(attention.UsesMath(longAsBf16));
        attention.Kernel = AttentionKernel.Fused;
        Assert.False(attention.UsesMath(shortSequence));
        attention.Kernel = AttentionKernel.Math;
        Assert.True(attention.UsesMath(longSequence));
    }
}
