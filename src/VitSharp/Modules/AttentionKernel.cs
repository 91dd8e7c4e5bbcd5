namespace VitSharp.Modules;

/// <summary>Which code computes <c>softmax(q·kᵀ/√d)·v</c> in <see cref="Attention"/>. All compute the same function.</summary>
public enum AttentionKernel
{
    /// <summary>
    /// <see cref="Math"/> for short sequences on the CPU (at most <see cref="Attention.AutoMathMaxTokens"/> tokens in
    /// float32 and in inference, <see cref="Attention.AutoMathMaxTokensReducedPrecision"/> when training in bfloat16 or float16), <see cref="Fused"/> otherwise: whichever trained faster at that length when measured (bench/train-throughput/README.md).
    /// </summary>
    Auto,

    /// <summary>libtorch's fused <c>scaled_dot_product_attention</c> (timm's <c>fused_attn = True</c>).</summary>
    Fused,

    /// <summary>Two batched matmuls and a softmax (timm's <c>fused_attn = False</c>).</summary>
    Math,
}
