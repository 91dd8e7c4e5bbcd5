using TorchSharp;
using VitSharp.Native;
using static TorchSharp.torch;

namespace VitSharp.Kernels;

/// <summary>
/// libtorch's fused <c>scaled_dot_product_attention</c> against its explicit <c>softmax(s·q·kᵀ)·v</c> on one shape.
/// The fused kernel is libtorch's own, what timm runs by default and PyTorch users get, so it is not gated the way
/// oneDNN's kernels are; <c>vitsharp doctor</c> and the kernel tests check it all the same, since <c>Auto</c> uses it.
/// </summary>
internal readonly record struct FusedAttentionCheck(long Batch, long Tokens, int Heads, long HeadDim, int Threads) : IKernelSignature
{
    public string Kernel => "libtorch fused attention";

    public string Describe() => $"batch {Batch}, {Tokens} tokens, {Heads} heads of {HeadDim}, float32, {Threads} thread{(Threads == 1 ? "" : "s")}";

    public ErrorMeasure Check()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        double scale = 1 / Math.Sqrt(HeadDim);
        var generator = new Generator(seed: 29);
        long[] shape = [Batch, Heads, Tokens, HeadDim];
        Tensor Part() => randn(shape, generator: generator);
        var (q, k, v) = (Part(), Part(), Part());
        var actual = nn.functional.scaled_dot_product_attention(q, k, v);
        var probabilities = q.Times(scale).matmul(k.transpose(-2, -1)).softmax(-1);
        return ErrorBounds.Compare(actual, probabilities.matmul(v), ErrorBounds.Attention(q, k, v, scale, probabilities));
    }
}
