namespace VitSharp.Modules;

/// <summary>Which code computes <c>softmax(q·kᵀ/√d)·v</c> in <see cref="Attention"/>. All compute the same function.</summary>
public enum AttentionKernel
{
    /// <summary>
    /// On the CPU, <see cref="Math"/> for short sequences (at most <see cref="Attention.AutoMathMaxTokens"/> tokens in
    /// float32; in bfloat16 or float16 while batch × heads × tokens² is at most
    /// <see cref="Attention.AutoMathMaxScoresReducedPrecision"/>), <see cref="Fused"/> otherwise: whichever was faster
    /// there when measured (bench/train-throughput/README.md and the constants' comments).
    /// </summary>
    Auto,

    /// <summary>libtorch's fused <c>scaled_dot_product_attention</c> (timm's <c>fused_attn = True</c>).</summary>
    Fused,

    /// <summary>Two batched matmuls and a softmax (timm's <c>fused_attn = False</c>).</summary>
    Math,
}
