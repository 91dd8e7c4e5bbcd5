using TorchSharp;
using TorchSharp.Modules;
using VitSharp.Kernels;
using VitSharp.Native;
using static TorchSharp.torch;

namespace VitSharp.Modules;

/// <summary>
/// Multi-head self-attention with a packed <c>qkv</c> projection (timm <c>Attention</c>): <c>softmax(q·kᵀ/√d)·v</c>,
/// computed by libtorch's fused <c>scaled_dot_product_attention</c> or by two batched matmuls and a softmax (timm's
/// <c>fused_attn</c>), or by oneDNN's kernel where that is faster and has matched the explicit path on the shape
/// (<see cref="Kernel"/>, <see cref="KernelSelection"/>). <see cref="ForwardWithAttention"/> always takes the explicit
/// path, since it also returns the probabilities.
/// </summary>
public sealed class Attention : nn.Module<Tensor, Tensor>
{
    private readonly LinearLayer qkv;
    private readonly Dropout attn_drop;
    private readonly LinearLayer proj;
    private readonly Dropout proj_drop;

    private readonly double attentionDropRate;
    private readonly double scale;

    public int NumHeads { get; }
    public long HeadDim { get; }

    /// <summary>Which code computes attention in <see cref="forward"/> (default: <see cref="AttentionKernel.Auto"/>).</summary>
    public AttentionKernel Kernel { get; set; } = AttentionKernel.Auto;

    /// <summary>Whether <see cref="forward"/> always uses the fused kernel, as opposed to the explicit matmul path (timm's <c>fused_attn</c>).</summary>
    public bool FusedAttention
    {
        get => Kernel == AttentionKernel.Fused;
        set => Kernel = value ? AttentionKernel.Fused : AttentionKernel.Math;
    }

    public Attention(long dim, int numHeads, bool qkvBias, double attnDropRate, double projDropRate) : base(nameof(Attention))
    {
        if (dim % numHeads != 0) throw new ArgumentException($"embed dim {dim} is not divisible by {numHeads} heads");
        NumHeads = numHeads;
        HeadDim = dim / numHeads;
        scale = Math.Pow(HeadDim, -0.5);
        attentionDropRate = attnDropRate;
        qkv = new LinearLayer(dim, dim * 3, hasBias: qkvBias);
        attn_drop = nn.Dropout(attnDropRate);
        proj = new LinearLayer(dim, dim);
        proj_drop = nn.Dropout(projDropRate);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        long[] shape = x.shape;
        var packed = qkv.call(x);
        var plan = KernelSelection.ChooseAttention(Kernel, shape[0], shape[1], NumHeads, HeadDim, x.dtype, x.device_type,
            gradients: is_grad_enabled(), dropout: training && attentionDropRate > 0);
        var context = (plan.TryOneDnn ? OneDnnAttention.TryForward(packed, shape[0], shape[1], NumHeads, HeadDim, scale) : null)
            ?? Attend(packed, shape, plan.Math);
        return proj_drop.call(proj.call(context)).MoveToOuterDisposeScope();
    }

    /// <summary>libtorch's attention, fused or explicit (timm's <c>fused_attn</c>), from the packed projection to the context <c>[B, N, C]</c>.</summary>
    private Tensor Attend(Tensor packed, long[] shape, bool math)
    {
        var (q, k, v) = SplitHeads(packed, shape);
        var perHead = math
            ? attn_drop.call(Probabilities(q, k)).matmul(v)
            : nn.functional.scaled_dot_product_attention(q, k, v, p: training ? attentionDropRate : 0.0);
        return JoinHeads(perHead, shape);
    }

    /// <summary>The block output and the attention probabilities <c>[B, heads, T, T]</c> (before attention dropout).</summary>
    public (Tensor Output, Tensor Probabilities) ForwardWithAttention(Tensor x)
    {
        using var scope = NewDisposeScope();
        long[] shape = x.shape;
        var (q, k, v) = SplitHeads(qkv.call(x), shape);
        var probabilities = Probabilities(q, k);
        var context = JoinHeads(attn_drop.call(probabilities).matmul(v), shape);
        var output = proj_drop.call(proj.call(context));
        return (output.MoveToOuterDisposeScope(), probabilities.MoveToOuterDisposeScope());
    }

    private Tensor Probabilities(Tensor q, Tensor k) => q.Times(scale).matmul(k.transpose(-2, -1)).softmax(-1);

    /// <summary>q, k and v <c>[B, heads, N, D]</c> from the packed projection <c>[B, N, 3·heads·D]</c>.</summary>
    private (Tensor Q, Tensor K, Tensor V) SplitHeads(Tensor packed, long[] inputShape)
    {
        long b = inputShape[0], n = inputShape[1];
        var parts = packed.reshape(b, n, 3, NumHeads, HeadDim).permute(2, 0, 3, 1, 4).unbind(0);
        return (parts[0], parts[1], parts[2]);
    }

    /// <summary>The heads' outputs <c>[B, heads, N, D]</c> joined back to <c>[B, N, C]</c>.</summary>
    private static Tensor JoinHeads(Tensor perHead, long[] inputShape) => perHead.transpose(1, 2).reshape(inputShape[0], inputShape[1], inputShape[2]);
}
