namespace VitSharp.Modules;

/// <summary>Which code computes <c>softmax(q·kᵀ/√d)·v</c> in <see cref="Attention"/>. All compute the same function.</summary>
public enum AttentionKernel
{
    /// <summary>
    /// On the CPU, <see cref="Math"/> for short sequences (at most <see cref="Attention.AutoMathMaxTokens"/> tokens in
    /// float32; in bfloat16 or float16 while batch × heads × tokens² is at most
    /// <see cref="Attention.AutoMathMaxScoresReducedPrecision"/>), <see cref="Fused"/> otherwise: whichever was faster
    /// there when measured (bench/train-throughput/README.md and the constants' comments). Without gradients in float32,
    /// <see cref="OneDnn"/> first, while batch × heads × tokens² is at most <see cref="Attention.AutoOneDnnMaxScores"/>
    /// and heads are at least <see cref="Attention.AutoOneDnnMinHeadDim"/> wide.
    /// </summary>
    Auto,

    /// <summary>libtorch's fused <c>scaled_dot_product_attention</c> (timm's <c>fused_attn = True</c>).</summary>
    Fused,

    /// <summary>Two batched matmuls and a softmax (timm's <c>fused_attn = False</c>).</summary>
    Math,

    /// <summary>
    /// Both products through oneDNN as grouped 1×1 convolutions (<see cref="Native.OneDnnAttention"/>): float32 on an
    /// x86-64 CPU, without attention dropout; <see cref="Fused"/> otherwise. <see cref="Auto"/> takes it for inference
    /// while the score matrix is small (<see cref="Attention.AutoOneDnnMaxScores"/>).
    /// </summary>
    OneDnn,
}
