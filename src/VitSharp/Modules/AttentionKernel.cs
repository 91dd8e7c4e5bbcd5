namespace VitSharp.Modules;

/// <summary>Which code computes <c>softmax(q·kᵀ/√d)·v</c> in <see cref="Attention"/>. All compute the same function.</summary>
public enum AttentionKernel
{
    /// <summary>libtorch's fused <c>scaled_dot_product_attention</c> (timm's <c>fused_attn = True</c>).</summary>
    Fused,

    /// <summary>Two batched matmuls and a softmax (timm's <c>fused_attn = False</c>).</summary>
    Math,

    /// <summary>
    /// VitSharp's own CPU kernel (<c>Kernels/ManagedAttention</c>): every head from the packed <c>qkv</c> to the
    /// context in one pass, in C# vectors, without the permutes. Made for many small heads; float32 on the CPU with
    /// head widths divisible by 8, attention dropout off. Anything else runs the fused kernel instead.
    /// </summary>
    Managed,
}
