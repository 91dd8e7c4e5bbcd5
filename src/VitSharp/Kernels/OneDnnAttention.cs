using TorchSharp;
using VitSharp.Native;
using static TorchSharp.torch;

namespace VitSharp.Kernels;

/// <summary>
/// Multi-head attention <c>softmax(q·kᵀ·scale)·v</c> with both products computed by oneDNN instead of MKL (see
/// <see cref="OneDnnLinear"/> for why: MKL runs its AVX2 code on non-Intel CPUs), from the packed <c>qkv</c>
/// projection <c>[B, N, 3·C]</c> straight to the context <c>[B, N, C]</c> that <c>proj</c> takes.
/// <para>
/// Each product over all images and heads is one grouped 1×1 convolution, a group per (image, head): for q·kᵀ the
/// queries are the input (channels-last <c>[1, groups·D, N, 1]</c>, position by position) and each group's keys its
/// weights; the scores come out query by query, <c>[N, groups, N]</c>, where the softmax runs along the last axis,
/// and are then the input of the second convolution, whose weights are each group's values. The score matrix is
/// materialised, so this pays only while it stays small (about 4 M scores): libtorch's fused kernel works in blocks and
/// wins beyond. Each signature is checked against the explicit <c>softmax(q·kᵀ)·v</c> before it serves
/// (<see cref="KernelChecks"/>). <c>Auto</c> does not use it: on an AMD EPYC of family 26 it was wrong at 65 and 197
/// tokens, for a reason not found (docs/kernels.md).
/// </para>
/// </summary>
internal static class OneDnnAttention
{
    private const string Script = """
        def attend(packed: Tensor, heads: int, scale: float):
            b = packed.size(0)
            n = packed.size(1)
            c = packed.size(2) // 3
            d = c // heads
            g = b * heads
            parts = packed.reshape([b, n, 3, heads, d])
            # The scale goes on q, which is copied for the product anyway, not on the larger score matrix.
            q = (parts.select(2, 0) * scale).permute([1, 0, 2, 3]).reshape([1, n, 1, g * d]).permute([0, 3, 1, 2])
            k = parts.select(2, 1).permute([0, 2, 1, 3]).reshape([g * n, 1, 1, d]).permute([0, 3, 1, 2])
            scores = torch.mkldnn_convolution(q, k, None, [0, 0], [1, 1], [1, 1], g)
            p = scores.permute([0, 2, 3, 1]).reshape([n, g, n]).softmax(-1)
            p4 = p.reshape([1, n, 1, g * n]).permute([0, 3, 1, 2])
            v = parts.select(2, 2).permute([0, 2, 3, 1]).reshape([g * d, 1, 1, n]).permute([0, 3, 1, 2])
            context = torch.mkldnn_convolution(p4, v, None, [0, 0], [1, 1], [1, 1], g)
            return context.permute([0, 2, 3, 1]).reshape([n, b, c]).transpose(0, 1).contiguous()
        """;

    private static readonly Lazy<jit.CompilationUnit?> Compiled = new(() => OneDnnScript.Compile(Script), LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Whether this libtorch has oneDNN's convolution on this machine (x86-64 only).</summary>
    public static bool IsAvailable => Compiled.Value is not null;

    /// <summary>
    /// The context <c>[B, N, C]</c> from the packed projection <c>[B, N, 3·C]</c> (float32, CPU, contiguous) where this
    /// signature has been checked in this process; null where the kernel does not serve it, and the caller computes
    /// libtorch's attention instead. Without gradients only.
    /// </summary>
    public static Tensor? TryForward(Tensor packed, long batch, long tokens, int heads, long headDim, double scale)
    {
        if (!IsAvailable) return null;
        var signature = new Signature(batch, tokens, heads, headDim, get_num_threads());
        return KernelChecks.Agrees(signature) ? Compute(signature, packed, scale) : null;
    }

    private static Tensor Compute(in Signature signature, Tensor packed, double scale)
    {
        var unit = Compiled.Value ?? throw new InvalidOperationException("oneDNN is not available in this libtorch");
        // TorchSharp's invoke turns a long or double argument into a Scalar that nothing keeps alive, so a garbage
        // collection during the call could free it while libtorch reads it (KeptScalars): these two live until it returns.
        using var headCount = ((long)signature.Heads).ToScalar();
        using var scaleFactor = scale.ToScalar();
        return KernelFaults.Apply(signature, (Tensor)unit.invoke("attend", packed, headCount, scaleFactor));
    }

    /// <summary>One attention shape: images, tokens, heads and head width, float32, at a thread count.</summary>
    internal readonly record struct Signature(long Batch, long Tokens, int Heads, long HeadDim, int Threads) : IKernelSignature
    {
        public string Kernel => "oneDNN attention";

        public string Describe() => $"batch {Batch}, {Tokens} tokens, {Heads} heads of {HeadDim}, float32, {Threads} thread{(Threads == 1 ? "" : "s")}";

        /// <summary>A random packed projection against the explicit <c>softmax(s·q·kᵀ)·v</c> in float32 (<see cref="ErrorBounds.Attention"/>).</summary>
        public ErrorMeasure Check()
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            double scale = 1 / Math.Sqrt(HeadDim);
            var packed = randn([Batch, Tokens, 3 * Heads * HeadDim], generator: new Generator(seed: 23));
            var actual = Compute(this, packed, scale);
            var parts = packed.reshape(Batch, Tokens, 3, Heads, HeadDim).permute(2, 0, 3, 1, 4).unbind(0);
            var (q, k, v) = (parts[0], parts[1], parts[2]);
            var probabilities = q.Times(scale).matmul(k.transpose(-2, -1)).softmax(-1);
            var expected = probabilities.matmul(v);
            var tolerance = ErrorBounds.Attention(q, k, v, scale, probabilities);
            return ErrorBounds.Compare(ToContext(actual, Batch, Tokens, Heads, HeadDim), expected, tolerance);
        }

        /// <summary>The kernel's context <c>[B, N, heads·D]</c> as per-head <c>[B, heads, N, D]</c>, like the reference's.</summary>
        private static Tensor ToContext(Tensor context, long batch, long tokens, int heads, long headDim) =>
            context.reshape(batch, tokens, heads, headDim).transpose(1, 2);
    }
}
