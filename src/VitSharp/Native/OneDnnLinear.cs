using TorchSharp;
using static TorchSharp.torch;

namespace VitSharp.Native;

/// <summary>
/// <c>y = x·Wᵀ + b</c> computed by oneDNN, the deep-learning kernel library inside libtorch, instead of by the BLAS
/// that libtorch's <c>linear</c> calls (MKL in the official builds). MKL picks its kernels by CPU vendor: on a CPU that
/// is not Intel's it runs its AVX2 code even where AVX-512 is there, while oneDNN picks by instruction set. On an AMD
/// EPYC with AVX-512 (2 threads, 2026-11-28) oneDNN ran ViT-S/B's projections at 410–480 GFLOP/s against MKL's
/// 180–220, with float32 arithmetic throughout (no reduced-precision math mode).
/// <para>
/// libtorch exposes no oneDNN matmul on ordinary tensors, so the product is posed as the 1×1 convolution it is:
/// <c>x [rows, in]</c> viewed channels-last as a one-image <c>[1, in, rows, 1]</c> batch, <c>W [out, in]</c> as
/// <c>[out, in, 1, 1]</c>. Both views and the output's way back are free (no copies). The convolution is called as
/// <c>aten::mkldnn_convolution</c> through a tiny TorchScript function, since TorchSharp binds only the generic
/// <c>conv2d</c>, which libtorch sends elsewhere on one thread. Gradients flow through it like through any op.
/// </para>
/// </summary>
public static class OneDnnLinear
{
    // TorchScript, compiled once by libtorch; the C++ front end resolves torch.* to aten:: operators. The two entry
    // points exist because a C# null cannot be passed as an optional tensor.
    private const string Script = """
        def linear(x: Tensor, weight: Tensor, bias: Optional[Tensor]):
            out_features = weight.size(0)
            in_features = weight.size(1)
            rows = x.numel() // in_features
            x4 = x.reshape([1, rows, 1, in_features]).permute([0, 3, 1, 2])
            w4 = weight.reshape([out_features, 1, 1, in_features]).permute([0, 3, 1, 2])
            y = torch.mkldnn_convolution(x4, w4, bias, [0, 0], [1, 1], [1, 1], 1)
            shape = x.size()
            shape[-1] = out_features
            return y.permute([0, 2, 3, 1]).reshape(shape)

        def linear_bias(x: Tensor, weight: Tensor, bias: Tensor):
            return linear(x, weight, bias)

        def linear_no_bias(x: Tensor, weight: Tensor):
            return linear(x, weight, None)
        """;

    private static readonly Lazy<jit.CompilationUnit?> Compiled = new(() => OneDnnScript.CompileAndProbe(Script, ProbeAgrees), LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Whether this libtorch has oneDNN and the operator ran correctly once on this machine (checked on first use).</summary>
    public static bool IsAvailable => Compiled.Value is not null;

    /// <summary>Whether <see cref="Forward"/> handles this case: a float32 CPU input whose last dimension matches the weight.</summary>
    public static bool Supports(Tensor x, Tensor weight) =>
        x.device_type == DeviceType.CPU && x.dtype == ScalarType.Float32 && weight.dtype == ScalarType.Float32
        && weight.dim() == 2 && x.dim() >= 1 && x.shape[^1] == weight.shape[1] && x.numel() > 0 && IsAvailable;

    /// <summary><c>x·Wᵀ + b</c> for <c>x [..., in]</c>, <c>W [out, in]</c>, <c>b [out]</c> (or none); the caller checks <see cref="Supports"/>.</summary>
    public static Tensor Forward(Tensor x, Tensor weight, Tensor? bias)
    {
        var unit = Compiled.Value ?? throw new InvalidOperationException("oneDNN is not available in this libtorch");
        return (Tensor)(bias is null ? unit.invoke("linear_no_bias", x, weight) : unit.invoke("linear_bias", x, weight, bias));
    }

    /// <summary>Runs both functions once on a small product and compares with libtorch's <c>linear</c>.</summary>
    private static bool ProbeAgrees(jit.CompilationUnit unit)
    {
        var generator = new Generator(seed: 1);
        var x = rand(new long[] { 2, 3, 8 }, generator: generator);
        var weight = rand(new long[] { 5, 8 }, generator: generator);
        var bias = rand(new long[] { 5 }, generator: generator);
        var withBias = (Tensor)unit.invoke("linear_bias", x, weight, bias);
        var withoutBias = (Tensor)unit.invoke("linear_no_bias", x, weight);
        return withBias.allclose(nn.functional.linear(x, weight, bias), rtol: 1e-5, atol: 1e-5)
            && withoutBias.allclose(nn.functional.linear(x, weight), rtol: 1e-5, atol: 1e-5);
    }
}
