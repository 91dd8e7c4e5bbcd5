using TorchSharp;
using VitSharp.Native;
using static TorchSharp.torch;

namespace VitSharp.Kernels;

/// <summary>
/// How far apart two correct computations of the same product may be, element by element, so that a kernel is
/// compared with libtorch's reference at floating-point noise and nothing looser. The bounds are Higham's for sums
/// of products: an n-term float32 dot product has an error of at most <c>γ(n)·Σ|aᵢbᵢ|</c> whatever the order of the
/// sum, with <c>γ(n) = n·u/(1 − n·u)</c> and <c>u = 2⁻²⁴</c>. Two such computations are then at most twice that
/// apart. A result in bfloat16 adds one rounding of the output (<c>u = 2⁻⁸</c>) per side. docs/kernels.md derives
/// each bound and gives the margins measured against them.
/// </summary>
internal static class ErrorBounds
{
    /// <summary>The unit roundoff of float32, 2⁻²⁴.</summary>
    public const double Float32Roundoff = 1.0 / (1 << 24);

    /// <summary>The unit roundoff of bfloat16, 2⁻⁸.</summary>
    public const double Bfloat16Roundoff = 1.0 / (1 << 8);

    /// <summary>Higham's <c>γ(n)</c> for float32 arithmetic: the relative error bound of an n-term sum of products.</summary>
    public static double Gamma(long n) => n * Float32Roundoff / (1 - n * Float32Roundoff);

    /// <summary>The unit roundoff of a result stored in <paramref name="dtype"/> (float32 results add nothing beyond the sums).</summary>
    public static double OutputRoundoff(ScalarType dtype) => dtype switch
    {
        ScalarType.Float32 => 0,
        ScalarType.BFloat16 => Bfloat16Roundoff,
        _ => throw new ArgumentException($"no error bound is defined for {dtype} results"),
    };

    /// <summary>
    /// The tolerance of each element of <c>y = x·Wᵀ + b</c>: <c>2·γ(K+1)·(|x|·|W|ᵀ + |b|) + 2·u_out·|y|</c>, with
    /// <c>K</c> the reduction length (in features), the bias as one more term, all in float32. <paramref name="expected"/>
    /// is the reference result in float32.
    /// </summary>
    public static Tensor Linear(Tensor x, Tensor weight, Tensor? bias, Tensor expected, ScalarType outputDType)
    {
        long k = weight.shape[1];
        var magnitude = x.abs().matmul(weight.abs().t());
        if (bias is not null) magnitude = magnitude.Plus(bias.abs());
        return magnitude.Times(2 * Gamma(k + 1)).Plus(expected.abs().Times(2 * OutputRoundoff(outputDType)));
    }

    /// <summary>
    /// The tolerance of each element of a product <c>a·b</c> (a gradient, say) with reduction length <c>a.shape[-1]</c>:
    /// <c>2·γ(K)·(|a|·|b|)</c>.
    /// </summary>
    public static Tensor Product(Tensor a, Tensor b) => a.abs().matmul(b.abs()).Times(2 * Gamma(a.shape[^1]));

    /// <summary>
    /// The tolerance of each element of the attention context <c>softmax(s·q·kᵀ)·v</c> for one head, <c>q, k, v
    /// [..., N, D]</c>, given the reference probabilities <paramref name="probabilities"/> <c>[..., N, N]</c>:
    /// <list type="number">
    /// <item>each score <c>sᵢⱼ</c> is within <c>eᵢⱼ = 2·γ(D+1)·s·(|q|·|k|ᵀ)ᵢⱼ</c> (one more rounding for the scale);</item>
    /// <item>scores off by at most <c>Eᵢ = maxⱼ eᵢⱼ</c> move each probability of row i by a factor within
    /// <c>e^{±2Eᵢ}</c>, and the exponentials, their sum and the division add <c>γ(N+2)</c>: a relative error of at
    /// most <c>ρᵢ = 2·(e^{2Eᵢ} − 1 + γ(N+2))</c> between two computations;</item>
    /// <item>the context <c>Σⱼ pᵢⱼ·vⱼ</c> is then within <c>(ρᵢ + 2·γ(N))·Σⱼ pᵢⱼ·|vⱼ|</c>.</item>
    /// </list>
    /// </summary>
    public static Tensor Attention(Tensor q, Tensor k, Tensor v, double scale, Tensor probabilities)
    {
        long n = k.shape[^2], d = q.shape[^1];
        var scoreError = q.abs().matmul(k.abs().transpose(-2, -1)).Times(2 * Gamma(d + 1) * scale);
        var rowError = scoreError.amax([-1], keepdim: true);
        var relative = rowError.Times(2).expm1().AddInPlace(Gamma(n + 2)).TimesInPlace(2).AddInPlace(2 * Gamma(n));
        return probabilities.matmul(v.abs()).mul(relative);
    }

    /// <summary>
    /// How <paramref name="actual"/> compares with <paramref name="expected"/> under the element-wise
    /// <paramref name="tolerance"/>: the largest absolute difference, and the largest ratio of a difference to its
    /// tolerance (at most 1 where they agree; NaN or infinity in <paramref name="actual"/> disagrees).
    /// </summary>
    public static ErrorMeasure Compare(Tensor actual, Tensor expected, Tensor tolerance)
    {
        using var scope = NewDisposeScope();
        var difference = actual.to(ScalarType.Float32).sub(expected).abs();
        // A tolerance is zero only where both sides are exactly zero by construction; a floor keeps 0/0 out.
        var ratio = difference.div(tolerance.clamp_min(MinimumTolerance));
        double maxError = difference.max().item<float>(), worst = ratio.max().item<float>();
        bool finite = actual.isfinite().all().item<bool>();
        return new ErrorMeasure(maxError, finite ? worst : double.PositiveInfinity);
    }

    private static readonly TorchSharp.Scalar MinimumTolerance = 1e-30.ToScalar();

    /// <summary>Combines the measures of several outputs of one check (a value and its gradients): the worst of each.</summary>
    public static ErrorMeasure Worst(params ErrorMeasure[] measures) =>
        new(measures.Max(m => m.MaxError), measures.Max(m => double.IsNaN(m.WorstRatio) ? double.PositiveInfinity : m.WorstRatio));
}

/// <summary>How a kernel's result compared with the reference's: the largest absolute difference, and the largest difference as a multiple of its tolerance.</summary>
internal readonly record struct ErrorMeasure(double MaxError, double WorstRatio)
{
    public bool Agrees => WorstRatio <= 1;
}
