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

    [Theory]
    [InlineData(384, 384L)]
    [InlineData(1152, 1152L)]
    [InlineData(3072, 3072L)]
    [InlineData(1000, 1152L)]   // an ImageNet head: 15 % more
    [InlineData(1008, 1152L)]
    [InlineData(21843, 21888L)] // ImageNet-21k: 0.2 % more
    [InlineData(1056, 1152L)]
    [InlineData(154, 192L)]     // 24.7 % more
    [InlineData(153, null)]     // 25.5 % more
    [InlineData(144, null)]     // 33 % more: not packed
    [InlineData(100, null)]
    [InlineData(64, null)]
    [InlineData(10, null)]
    public void Packed_output_widths_are_padded_to_a_multiple_of_192_where_that_adds_at_most_a_quarter(long outFeatures, long? padded)
    {
        Assert.Equal(padded, OneDnnPackedLinear.PaddedOutFeatures(outFeatures));
        using var weight = zeros(outFeatures, 384);
        Assert.Equal(OneDnnPackedLinear.IsAvailable && padded is not null, OneDnnPackedLinear.Supports(weight));
        using var narrowInput = zeros(384, 96); // an input width that is not a multiple of 64
        Assert.False(OneDnnPackedLinear.Supports(narrowInput));
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
    public void OneDNN_attention_is_tried_only_when_asked_for_and_only_for_float32_inference()
    {
        if (!OneDnnAttention.IsAvailable) return;
        Assert.False(Attention(AttentionKernel.Auto, 1, 197, 6, 64).TryOneDnn); // wrong on one CPU family: not by default
        var forced = Attention(AttentionKernel.OneDnn, 64, 197, 6, 64);
        Assert.Equal((true, false), (forced.TryOneDnn, forced.Math)); // any size; the fused kernel wherever it is refused
        Assert.False(Attention(AttentionKernel.OneDnn, 1, 197, 6, 64, ScalarType.BFloat16).TryOneDnn);
        Assert.False(Attention(AttentionKernel.OneDnn, 1, 197, 6, 64, dropout: true).TryOneDnn);
        Assert.False(Attention(AttentionKernel.OneDnn, 1, 197, 6, 64, gradients: true).TryOneDnn); // it has no gradient
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
