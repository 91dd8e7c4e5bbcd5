using TorchSharp;
using static TorchSharp.torch;

namespace VitSharp.Native;

/// <summary>
/// Multi-head attention <c>softmax(q·kᵀ·scale)·v</c> with both products computed by oneDNN instead of MKL (see
/// <see cref="OneDnnLinear"/> for why: MKL runs its AVX2 code on non-Intel CPUs), from the packed <c>qkv</c>
/// projection <c>[B, N, 3·C]</c> straight to the context <c>[B, N, C]</c> that <c>proj</c> takes.
/// <para>
/// Each product over all images and heads is one grouped 1×1 convolution, a group per (image, head): for q·kᵀ the
/// queries are the input (channels-last <c>[1, groups·D, N, 1]</c>, position by position) and each group's keys its
/// weights; the scores come out query by query, <c>[N, groups, N]</c>, where the softmax runs along the last axis,
/// and are then the input of the second convolution, whose weights are each group's values. The score matrix is
/// materialised, so this pays only while it stays small (<see cref="Modules.Attention.AutoOneDnnMaxScores"/>):
/// libtorch's fused kernel works in blocks and wins beyond.
/// </para>
/// </summary>
public static class OneDnnAttention
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

    private static readonly Lazy<jit.CompilationUnit?> Compiled = new(() => OneDnnScript.CompileAndProbe(Script, ProbeAgrees), LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Whether this libtorch has oneDNN and the kernel agreed with libtorch's attention once on this machine (checked on first use).</summary>
    public static bool IsAvailable => Compiled.Value is not null;

    /// <summary>The context <c>[B, N, C]</c> from the packed projection <c>[B, N, 3·C]</c> (float32, CPU; the caller checks <see cref="IsAvailable"/>).</summary>
    public static Tensor Forward(Tensor packed, int heads, double scale)
    {
        var unit = Compiled.Value ?? throw new InvalidOperationException("oneDNN is not available in this libtorch");
        return Attend(unit, packed, heads, scale);
    }

    private static Tensor Attend(jit.CompilationUnit unit, Tensor packed, int heads, double scale)
    {
        // TorchSharp's invoke turns a long or double argument into a Scalar that nothing keeps alive, so a garbage
        // collection during the call could free it while libtorch reads it (KeptScalars has the story; under a thread
        // that kept collecting, a loop of these calls failed 12-13 times in 5 s reading the head count, and a loop of
        // forward passes died within a minute). These two live until the call has returned.
        using var headCount = ((long)heads).ToScalar();
        using var scaleFactor = scale.ToScalar();
        return (Tensor)unit.invoke("attend", packed, headCount, scaleFactor);
    }

    /// <summary>Runs the kernel once on a small input and compares with libtorch's fused attention.</summary>
    private static bool ProbeAgrees(jit.CompilationUnit unit)
    {
        const int batch = 2, tokens = 5, heads = 3, headDim = 4;
        var packed = rand(new long[] { batch, tokens, 3 * heads * headDim }, generator: new Generator(seed: 1));
        var parts = packed.reshape(batch, tokens, 3, heads, headDim).permute(2, 0, 3, 1, 4).unbind(0);
        var expected = nn.functional.scaled_dot_product_attention(parts[0], parts[1], parts[2]).transpose(1, 2).reshape(batch, tokens, heads * headDim);
        var actual = Attend(unit, packed, heads, 1 / Math.Sqrt(headDim));
        return actual.allclose(expected, rtol: 1e-5, atol: 1e-5);
    }
}
