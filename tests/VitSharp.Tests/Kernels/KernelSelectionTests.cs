using TorchSharp;
using VitSharp.Kernels;
using static TorchSharp.torch;
using LinearPath = VitSharp.Kernels.KernelSelection.LinearPath;

namespace VitSharp.Tests.Kernels;

/// <summary>What <see cref="KernelSelection"/> picks at and around each of its limits.</summary>
public class KernelSelectionTests
{
    private static LinearPath Linear(LinearKernel kernel, long rows, long inFeatures, long outFeatures, ScalarType dtype = ScalarType.Float32,
        bool gradients = false, bool pack = false, DeviceType device = DeviceType.CPU) =>
        KernelSelection.ChooseLinear(kernel, rows, inFeatures, outFeatures, dtype, device, gradients, pack);

    [Fact]
    public void Auto_gives_oneDNN_only_products_that_repay_its_cost_per_call()
    {
        if (!OneDnnLinear.IsAvailable) return; // not x86-64: LinearLayerTests checks that it must not be there
        Assert.Equal(KernelSelection.AutoOneDnnMinMultiplyAdds, 64 * 256 * 512);
        Assert.Equal(LinearPath.OneDnn, Linear(LinearKernel.Auto, 64, 256, 512));
        Assert.Equal(LinearPath.Reference, Linear(LinearKernel.Auto, 63, 256, 512)); // too few rows
        Assert.Equal(LinearPath.Reference, Linear(LinearKernel.Auto, 64, 256, 511)); // one output short of the multiply-adds
        Assert.Equal(LinearPath.OneDnn, Linear(LinearKernel.Auto, 65, 256, 511));
        Assert.Equal(LinearPath.OneDnn, Linear(LinearKernel.Auto, 64, 256, 512, gradients: true)); // training too
        // Forced, any size goes to oneDNN; never in another precision, off the CPU, or for BLAS.
        Assert.Equal(LinearPath.OneDnn, Linear(LinearKernel.OneDnn, 1, 4, 4));
        Assert.Equal(LinearPath.Reference, Linear(LinearKernel.OneDnn, 64, 256, 512, ScalarType.BFloat16));
        Assert.Equal(LinearPath.Reference, Linear(LinearKernel.OneDnn, 64, 256, 512, device: DeviceType.CUDA));
        Assert.Equal(LinearPath.Reference, Linear(LinearKernel.Blas, 4096, 256, 512, pack: true));
    }

    [Fact]
    public void A_pack_serves_from_its_limit_without_gradients_and_in_bfloat16_only_from_its_row_limit()
    {
        Assert.Equal(1L << 19, KernelSelection.AutoPackedMinMultiplyAdds);
        Assert.Equal(LinearPath.Packed, Linear(LinearKernel.Auto, 1, 512, 1024, pack: true));
        Assert.NotEqual(LinearPath.Packed, Linear(LinearKernel.Auto, 1, 512, 1023, pack: true));
        Assert.NotEqual(LinearPath.Packed, Linear(LinearKernel.Auto, 197, 384, 1152, gradients: true, pack: true));
        Assert.Equal(LinearPath.Packed, Linear(LinearKernel.OneDnn, 1, 4, 4, pack: true)); // forced: any size
        long limit = KernelSelection.AutoPackedMinRowsBfloat16;
        Assert.Equal(LinearPath.Packed, Linear(LinearKernel.Auto, limit, 384, 1152, ScalarType.BFloat16, pack: true));
        Assert.Equal(LinearPath.Reference, Linear(LinearKernel.Auto, limit - 1, 384, 1152, ScalarType.BFloat16, pack: true));
    }

    private static KernelSelection.AttentionPlan Attention(AttentionKernel kernel, long batch, long tokens, int heads, long headDim,
        ScalarType dtype = ScalarType.Float32, bool gradients = false, bool dropout = false) =>
        KernelSelection.ChooseAttention(kernel, batch, tokens, heads, headDim, dtype, DeviceType.CPU, gradients, dropout);

    [Fact]
    public void Auto_takes_oneDNN_for_float32_inference_with_small_score_matrices_and_wide_heads()
    {
        if (!OneDnnAttention.IsAvailable) return;
        long tokens = 197, batchAtLimit = KernelSelection.AutoOneDnnAttentionMaxScores / (2 * tokens * tokens); // 2 heads of 64
        Assert.True(Attention(AttentionKernel.Auto, batchAtLimit, tokens, 2, 64).TryOneDnn);
        Assert.False(Attention(AttentionKernel.Auto, batchAtLimit + 1, tokens, 2, 64).TryOneDnn);
        Assert.False(Attention(AttentionKernel.Auto, batchAtLimit, tokens, 2, 64, ScalarType.BFloat16).TryOneDnn);
        Assert.False(Attention(AttentionKernel.Auto, batchAtLimit, tokens, 2, 64, dropout: true).TryOneDnn);
        Assert.False(Attention(AttentionKernel.Auto, batchAtLimit, tokens, 2, 64, gradients: true).TryOneDnn);
        Assert.False(Attention(AttentionKernel.Auto, 1, tokens, 8, 16).TryOneDnn); // heads of 16
        // Forced: any size, but never with gradients (it has none), and the fused kernel wherever it is refused.
        var forced = Attention(AttentionKernel.OneDnn, batchAtLimit + 1, tokens, 2, 64);
        Assert.Equal((true, false), (forced.TryOneDnn, forced.Math));
        Assert.False(Attention(AttentionKernel.OneDnn, 1, tokens, 2, 64, gradients: true).TryOneDnn);
    }

    [Fact]
    public void Auto_takes_the_explicit_path_up_to_its_token_limit_on_the_cpu()
    {
        int limit = KernelSelection.AutoMathMaxTokens;
        Assert.True(Attention(AttentionKernel.Auto, 1, limit, 2, 16, gradients: true).Math);
        Assert.False(Attention(AttentionKernel.Auto, 1, limit + 1, 2, 16, gradients: true).Math);
        // In bfloat16 the limit is on batch x heads x tokens^2 (2 heads here), with or without gradients.
        long batchAtLimit = KernelSelection.AutoMathMaxScoresReducedPrecision / (2 * 100 * 100);
        Assert.True(Attention(AttentionKernel.Auto, batchAtLimit, 100, 2, 16, ScalarType.BFloat16).Math);
        Assert.False(Attention(AttentionKernel.Auto, batchAtLimit + 1, 100, 2, 16, ScalarType.BFloat16).Math);
        Assert.True(Attention(AttentionKernel.Auto, 1, limit + 1, 2, 16, ScalarType.BFloat16).Math);
        Assert.False(Attention(AttentionKernel.Fused, 1, limit, 2, 16).Math);
        Assert.True(Attention(AttentionKernel.Math, 1, limit + 1, 2, 16).Math);
        Assert.False(Attention(AttentionKernel.Math, 1, 197, 6, 64).TryOneDnn);
    }
}
