using TorchSharp;
using static TorchSharp.torch;

namespace VitSharp.Kernels;

/// <summary>
/// Which code computes a linear layer or an attention, from the requested kernel and the shape: every threshold of
/// <see cref="LinearKernel.Auto"/> and <see cref="AttentionKernel.Auto"/> is here, each where it was measured to pay
/// (the measurements are in docs/kernels.md). The choice names the fast kernel to try first; the kernel itself
/// still refuses a signature that has not matched libtorch's reference (<see cref="KernelChecks"/>), and the caller
/// then computes the libtorch path this gives as the fallback.
/// </summary>
public static class KernelSelection
{
    /// <summary>A linear product goes to oneDNN (<see cref="OneDnnLinear"/>) under Auto from this many rows (tokens × images) up…</summary>
    public const long AutoOneDnnMinRows = 64;

    /// <summary>…and from this many multiply-adds (rows × in × out) up: below, oneDNN's fixed cost per call exceeds what it saves.</summary>
    public const long AutoOneDnnMinMultiplyAdds = 1L << 23;

    /// <summary>A layer with a pack runs from it under Auto from this many multiply-adds up, at any number of rows.</summary>
    public const long AutoPackedMinMultiplyAdds = 1L << 19;

    /// <summary>In bfloat16 a layer runs from its pack under Auto only from this many rows up (slower at batch 1).</summary>
    public const long AutoPackedMinRowsBfloat16 = 512;

    /// <summary>The longest float32 sequence that Auto gives to the explicit matmul path on the CPU (libtorch's fused kernel beyond).</summary>
    public const int AutoMathMaxTokens = 80;

    /// <summary>In bfloat16 and float16 the explicit path's limit is on batch × heads × tokens² instead.</summary>
    public const long AutoMathMaxScoresReducedPrecision = 1L << 24;

    /// <summary>The code a linear product is given to first.</summary>
    internal enum LinearPath
    {
        /// <summary>libtorch's <c>linear</c>.</summary>
        Reference,

        /// <summary><see cref="OneDnnLinear"/>.</summary>
        OneDnn,

        /// <summary><see cref="OneDnnPackedLinear"/>, from the layer's pack.</summary>
        Packed,
    }

    /// <summary>
    /// The path for a product of <paramref name="rows"/> × <paramref name="inFeatures"/> → <paramref name="outFeatures"/>
    /// in <paramref name="dtype"/> on <paramref name="device"/>; <paramref name="servingPack"/> when the layer holds a
    /// pack of its current weight for this thread count; <paramref name="gradients"/> when autograd records.
    /// </summary>
    internal static LinearPath ChooseLinear(LinearKernel kernel, long rows, long inFeatures, long outFeatures, ScalarType dtype, DeviceType device,
        bool gradients, bool servingPack)
    {
        if (kernel == LinearKernel.Blas || device != DeviceType.CPU) return LinearPath.Reference;
        long multiplyAdds = Math.Max(rows, 1) * inFeatures * outFeatures;
        if (servingPack && !gradients
            && (kernel == LinearKernel.OneDnn || (multiplyAdds >= AutoPackedMinMultiplyAdds && (dtype != ScalarType.BFloat16 || rows >= AutoPackedMinRowsBfloat16))))
            return LinearPath.Packed;
        if (dtype != ScalarType.Float32 || !OneDnnLinear.IsAvailable) return LinearPath.Reference;
        return kernel == LinearKernel.OneDnn || (rows >= AutoOneDnnMinRows && multiplyAdds >= AutoOneDnnMinMultiplyAdds)
            ? LinearPath.OneDnn
            : LinearPath.Reference;
    }

    /// <summary>How an attention is computed: oneDNN's kernel first where <see cref="TryOneDnn"/>; libtorch's explicit path (<see cref="Math"/>) or its fused kernel otherwise and wherever oneDNN's refuses.</summary>
    internal readonly record struct AttentionPlan(bool TryOneDnn, bool Math);

    /// <summary>
    /// The plan for <paramref name="batch"/> images of <paramref name="tokens"/> tokens, <paramref name="heads"/> heads
    /// of <paramref name="headDim"/>, in <paramref name="dtype"/> on <paramref name="device"/>. oneDNN's attention is
    /// tried only when asked for (<see cref="AttentionKernel.OneDnn"/>): it was wrong on a Zen 5 EPYC at 65 and 197
    /// tokens for a reason not found, and no layout could be ruled out (docs/kernels.md); it has no gradient and no
    /// attention dropout.
    /// </summary>
    internal static AttentionPlan ChooseAttention(AttentionKernel kernel, long batch, long tokens, int heads, long headDim, ScalarType dtype, DeviceType device,
        bool gradients, bool dropout)
    {
        long scores = batch * heads * tokens * tokens;
        bool oneDnn = kernel == AttentionKernel.OneDnn
            && !gradients && !dropout && device == DeviceType.CPU && dtype == ScalarType.Float32 && OneDnnAttention.IsAvailable;
        bool math = kernel switch
        {
            AttentionKernel.Math => true,
            AttentionKernel.Auto => device == DeviceType.CPU && (dtype is ScalarType.BFloat16 or ScalarType.Float16
                ? scores <= AutoMathMaxScoresReducedPrecision
                : tokens <= AutoMathMaxTokens),
            _ => false,
        };
        return new AttentionPlan(oneDnn, math);
    }
}
