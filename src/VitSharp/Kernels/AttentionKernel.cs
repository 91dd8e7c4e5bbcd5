namespace VitSharp.Kernels;

/// <summary>Which code computes <c>softmax(q·kᵀ/√d)·v</c> in an attention layer. All compute the same function.</summary>
public enum AttentionKernel
{
    /// <summary>
    /// On the CPU, <see cref="Math"/> for short sequences and <see cref="Fused"/> for long ones, whichever was faster
    /// there when measured (<see cref="KernelSelection"/>, docs/kernels.md).
    /// </summary>
    Auto,

    /// <summary>libtorch's fused <c>scaled_dot_product_attention</c> (timm's <c>fused_attn = True</c>).</summary>
    Fused,

    /// <summary>Two batched matmuls and a softmax (timm's <c>fused_attn = False</c>). The reference.</summary>
    Math,

    /// <summary>
    /// Both products through oneDNN as grouped 1×1 convolutions (<see cref="OneDnnAttention"/>): float32 on an x86-64
    /// CPU, without gradients or attention dropout, at shapes checked against <see cref="Math"/>; <see cref="Fused"/>
    /// otherwise. Only when asked for: it was wrong on one CPU family at some token counts (docs/kernels.md).
    /// </summary>
    OneDnn,
}
