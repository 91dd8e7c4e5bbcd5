using TorchSharp;
using TorchSharp.Modules;
using VitSharp.Native;
using static TorchSharp.torch;

namespace VitSharp.Modules;

/// <summary>
/// Multi-head self-attention with a packed <c>qkv</c> projection (timm <c>Attention</c>):
/// <c>softmax(q·kᵀ/√d)·v</c>, computed either by libtorch's fused <c>scaled_dot_product_attention</c> or by two batched
/// matmuls and a softmax (timm's <c>fused_attn = False</c>). Which is faster depends on the sequence length and the
/// machine (<c>vitsharp bench --attention fused math</c>); <see cref="Kernel"/> chooses, by default by sequence length.
/// <see cref="ForwardWithAttention"/> always takes the explicit path, since it also returns the probabilities.
/// </summary>
public sealed class Attention : nn.Module<Tensor, Tensor>
{
    private readonly Linear qkv;
    private readonly Dropout attn_drop;
    private readonly Linear proj;
    private readonly Dropout proj_drop;

    private readonly double attentionDropRate;

    public int NumHeads { get; }
    public long HeadDim { get; }

    /// <summary>Which code computes attention in <see cref="forward"/> (default: <see cref="AttentionKernel.Auto"/>).</summary>
    public AttentionKernel Kernel { get; set; } = AttentionKernel.Auto;

    /// <summary>
    /// The longest sequence <see cref="AttentionKernel.Auto"/> gives to the explicit path on the CPU. Training the
    /// Fashion-MNIST hybrid (4 heads of 16, 2 threads, 2026-11-28), the explicit path took 21 % less time per step at
    /// 26 tokens, 12 % less at 50 and 13 % less at 65; the fused kernel 6 % less at 101 and 32 % less at 197. Inference
    /// at 50 and 197 tokens was within noise either way.
    /// </summary>
    public const int AutoMathMaxTokens = 80;

    /// <summary>
    /// In bfloat16 and float16 the limit is on the size of the score matrix instead, batch × heads × tokens², because
    /// libtorch's fused CPU kernel is slow there until that matrix outgrows the caches (AVX-512-BF16 CPU, 2 threads,
    /// 2026-11-28). The explicit path was faster at every size up to 15 M scores: training the Fashion-MNIST hybrid
    /// (4 heads of 16) 3.0× at 99 tokens (2.5 M scores), 1.8× at 197 (5.0 M), 1.6× at 290 (7.1 M), 1.2× at 442
    /// (10.9 M); its inference 1.2× at 197 tokens, batch 8 (1.2 M); ViT-S/16 inference at 197 tokens 1.12×, 1.15×,
    /// 1.26× and 1.08× at batch 1, 8, 32 and 64 (14.9 M); ViT-B/16 at batch 8 1.16× (3.7 M). The fused kernel was
    /// faster above it: 1.6× training the hybrid at 785 tokens (19.7 M), 1.8× in its inference at 197 tokens, batch
    /// 256 (39.7 M).
    /// </summary>
    public const long AutoMathMaxScoresReducedPrecision = 1L << 24;

    /// <summary>
    /// Without gradients, in float32 on the CPU, <see cref="AttentionKernel.Auto"/> takes <see cref="AttentionKernel.OneDnn"/>
    /// while batch × heads × tokens² is at most this and heads are at least <see cref="AutoOneDnnMinHeadDim"/> wide.
    /// Against libtorch's fused kernel (AMD EPYC with AVX-512, 2 threads, 2026-11-28; the attention alone, from the
    /// packed projection to the context), at 197 tokens and head width 64: 1.7–1.9× at batch 1 (6 and 12 heads),
    /// 1.24–2.0× at batch 8, 1.48× at batch 4 with 12 heads, 1.33× at batch 16 with 6 heads (3.7 M scores); even at
    /// 5.6 M scores (1.01×, 0.58×) and slower beyond (0.91× and 0.56× at 7.4 M), where the materialised score
    /// matrix outgrows the caches that the fused kernel's blocks stay in. 1.55× at batch 1 and 577 tokens. Heads of
    /// width 16 (the Fashion-MNIST hybrid) were slower at every size but one; width 32 was 1.1–1.6× faster.
    /// </summary>
    public const long AutoOneDnnMaxScores = 1L << 22;

    /// <inheritdoc cref="AutoOneDnnMaxScores"/>
    public const int AutoOneDnnMinHeadDim = 32;

    /// <summary>Which code computes the <c>qkv</c> and <c>proj</c> projections (default: <see cref="LinearKernel.Auto"/>).</summary>
    public LinearKernel LinearKernel { get; set; } = LinearKernel.Auto;

    private PackedLinearWeight? packedQkv;
    private PackedLinearWeight? packedProj;

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
        attentionDropRate = attnDropRate;
        qkv = nn.Linear(dim, dim * 3, hasBias: qkvBias);
        attn_drop = nn.Dropout(attnDropRate);
        proj = nn.Linear(dim, dim);
        proj_drop = nn.Dropout(projDropRate);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        long[] shape = x.shape;
        var packed = qkv.Apply(x, LinearKernel, shape[0] * shape[1], packedQkv);
        Tensor context; // [B, N, C]
        if (UsesOneDnn(x, shape))
        {
            context = OneDnnAttention.Forward(packed, NumHeads, Math.Pow(HeadDim, -0.5));
        }
        else
        {
            var (q, k, v) = SplitHeads(packed, shape);
            var perHead = UsesMath(x, shape)
                ? attn_drop.call(Probabilities(q, k)).matmul(v)
                : nn.functional.scaled_dot_product_attention(q, k, v, p: training ? attentionDropRate : 0.0);
            context = JoinHeads(perHead, shape);
        }
        return Project(context, shape).MoveToOuterDisposeScope();
    }

    /// <summary>Whether <see cref="forward"/> takes the oneDNN kernel for input <paramref name="x"/> <c>[B, N, C]</c>.</summary>
    internal bool UsesOneDnn(Tensor x) => UsesOneDnn(x, x.shape);

    private bool UsesOneDnn(Tensor x, long[] shape)
    {
        // It has no attention dropout: in training with dropout, the fused kernel runs instead.
        if (Kernel is not (AttentionKernel.OneDnn or AttentionKernel.Auto) || (training && attentionDropRate > 0)) return false;
        if (Kernel == AttentionKernel.Auto
            && (is_grad_enabled() || HeadDim < AutoOneDnnMinHeadDim || shape[0] * NumHeads * shape[1] * shape[1] > AutoOneDnnMaxScores))
            return false;
        return x.device_type == DeviceType.CPU && x.dtype == ScalarType.Float32 && OneDnnAttention.IsAvailable;
    }

    /// <summary>Whether <see cref="forward"/> takes the explicit path for input <paramref name="x"/> <c>[B, N, C]</c>.</summary>
    internal bool UsesMath(Tensor x) => UsesMath(x, x.shape);

    private bool UsesMath(Tensor x, long[] shape) => Kernel switch
    {
        AttentionKernel.Math => true,
        AttentionKernel.Auto => x.device_type == DeviceType.CPU && (x.dtype is ScalarType.BFloat16 or ScalarType.Float16
            ? shape[0] * NumHeads * shape[1] * shape[1] <= AutoMathMaxScoresReducedPrecision
            : shape[1] <= AutoMathMaxTokens),
        _ => false,
    };

    /// <summary>The block output and the attention probabilities <c>[B, heads, T, T]</c> (before attention dropout).</summary>
    public (Tensor Output, Tensor Probabilities) ForwardWithAttention(Tensor x)
    {
        using var scope = NewDisposeScope();
        long[] shape = x.shape;
        var (q, k, v) = SplitHeads(qkv.Apply(x, LinearKernel, shape[0] * shape[1], packedQkv), shape);
        var probabilities = Probabilities(q, k);
        var context = JoinHeads(attn_drop.call(probabilities).matmul(v), shape);
        var output = Project(context, shape);
        return (output.MoveToOuterDisposeScope(), probabilities.MoveToOuterDisposeScope());
    }

    private Tensor Probabilities(Tensor q, Tensor k) => q.Times(Math.Pow(HeadDim, -0.5)).matmul(k.transpose(-2, -1)).softmax(-1);

    /// <summary>q, k and v <c>[B, heads, N, D]</c> from the packed projection <c>[B, N, 3·heads·D]</c>.</summary>
    private (Tensor Q, Tensor K, Tensor V) SplitHeads(Tensor packed, long[] inputShape)
    {
        long b = inputShape[0], n = inputShape[1];
        var parts = packed.reshape(b, n, 3, NumHeads, HeadDim).permute(2, 0, 3, 1, 4).unbind(0);
        return (parts[0], parts[1], parts[2]);
    }

    /// <summary>The heads' outputs <c>[B, heads, N, D]</c> joined back to <c>[B, N, C]</c>.</summary>
    private static Tensor JoinHeads(Tensor perHead, long[] inputShape) => perHead.transpose(1, 2).reshape(inputShape[0], inputShape[1], inputShape[2]);

    /// <summary>The output projection of the context <c>[B, N, C]</c>.</summary>
    private Tensor Project(Tensor context, long[] inputShape) =>
        proj_drop.call(proj.Apply(context, LinearKernel, inputShape[0] * inputShape[1], packedProj));

    /// <summary>Packs <c>qkv</c> and <c>proj</c> for inference (<see cref="Models.VisionTransformer.PackLinearWeights"/>); returns how many it packed.</summary>
    internal int PackLinearWeights() => PackedLinearWeight.Repack(ref packedQkv, qkv) + PackedLinearWeight.Repack(ref packedProj, proj);

    internal void UnpackLinearWeights()
    {
        PackedLinearWeight.Drop(ref packedQkv);
        PackedLinearWeight.Drop(ref packedProj);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) UnpackLinearWeights();
        base.Dispose(disposing);
    }
}
