using TorchSharp;
using static TorchSharp.torch;

namespace VitSharp.Kernels;

/// <summary>
/// <c>y = x·Wᵀ + b</c> computed by oneDNN, the deep-learning kernel library inside libtorch, instead of by the BLAS
/// that libtorch's <c>linear</c> calls (MKL in the official builds). MKL picks its kernels by CPU vendor: on a CPU that
/// is not Intel's it runs its AVX2 code even where AVX-512 is there, while oneDNN picks by instruction set (about 2×
/// MKL's rate on an AMD EPYC with AVX-512; docs/kernels.md). Float32 arithmetic throughout.
/// <para>
/// libtorch exposes no oneDNN matmul on ordinary tensors, so the product is posed as the 1×1 convolution it is:
/// <c>x [rows, in]</c> viewed channels-last as a one-image <c>[1, in, rows, 1]</c> batch, <c>W [out, in]</c> as
/// <c>[out, in, 1, 1]</c>. Both views and the output's way back are free (no copies). The convolution is called as
/// <c>aten::mkldnn_convolution</c> through a tiny TorchScript function, since TorchSharp binds only the generic
/// <c>conv2d</c>, which libtorch sends elsewhere on one thread. Gradients flow through it like through any op.
/// oneDNN reorders the plain weight into the layout its kernel wants on every call, so no layout is assumed here.
/// </para>
/// </summary>
internal static class OneDnnLinear
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

    private static readonly Lazy<jit.CompilationUnit?> Compiled = new(() => OneDnnScript.Compile(Script), LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Whether this libtorch has oneDNN's convolution on this machine (x86-64 only).</summary>
    public static bool IsAvailable => Compiled.Value is not null;

    /// <summary>Whether the kernel handles these operands at all: float32 CPU tensors whose last dimensions match, not empty.</summary>
    public static bool Supports(Tensor x, Tensor weight) =>
        x.device_type == DeviceType.CPU && x.dtype == ScalarType.Float32 && weight.dtype == ScalarType.Float32
        && weight.dim() == 2 && x.dim() >= 1 && x.shape[^1] == weight.shape[1] && x.numel() > 0 && IsAvailable;

    /// <summary>
    /// <c>x·Wᵀ + b</c> for <c>x [..., in]</c> with <paramref name="rows"/> rows, <c>W [out, in]</c>, <c>b [out]</c> or
    /// none, by oneDNN where this signature has been checked in this process (<see cref="KernelChecks"/>), with
    /// gradients where autograd records; null where the kernel does not serve it, and the caller computes libtorch's
    /// <c>linear</c> instead. The caller has checked <see cref="Supports"/>.
    /// </summary>
    public static Tensor? TryForward(Tensor x, Tensor weight, Tensor? bias, long rows)
    {
        var weightShape = weight.shape;
        bool gradients = is_grad_enabled() && (x.requires_grad || weight.requires_grad || bias is { requires_grad: true });
        var signature = new Signature(rows, weightShape[1], weightShape[0], bias is not null, gradients, get_num_threads());
        return KernelChecks.Agrees(signature) ? Compute(signature, x, weight, bias) : null;
    }

    private static Tensor Compute(in Signature signature, Tensor x, Tensor weight, Tensor? bias)
    {
        var unit = Compiled.Value ?? throw new InvalidOperationException("oneDNN is not available in this libtorch");
        var y = (Tensor)(bias is null ? unit.invoke("linear_no_bias", x, weight) : unit.invoke("linear_bias", x, weight, bias));
        return KernelFaults.Apply(signature, y);
    }

    /// <summary>One product shape of this kernel; with <paramref name="Gradients"/>, its backward pass is checked too.</summary>
    internal readonly record struct Signature(long Rows, long In, long Out, bool Bias, bool Gradients, int Threads) : IKernelSignature
    {
        public string Kernel => "oneDNN linear";

        public string Describe() => $"{Rows}×{In}→{Out}{(Bias ? ", bias" : "")}{(Gradients ? ", with gradients" : "")}, float32, {Threads} thread{(Threads == 1 ? "" : "s")}";

        public ErrorMeasure Check()
        {
            using var scope = NewDisposeScope();
            var generator = new Generator(seed: 17);
            var x = randn([Rows, In], generator: generator);
            var weight = randn([Out, In], generator: generator);
            var bias = Bias ? randn([Out], generator: generator) : null;
            if (!Gradients)
            {
                using var noGrad = no_grad();
                var expected = nn.functional.linear(x, weight, bias);
                return ErrorBounds.Compare(Compute(this, x, weight, bias), expected, ErrorBounds.Linear(x, weight, bias, expected, ScalarType.Float32));
            }

            using var withGrad = enable_grad();
            var upstream = randn([Rows, Out], generator: generator);
            var self = this;
            var (actual, actualGrads) = ValueAndGradients(x, weight, bias, upstream, (a, w, b) => Compute(self, a, w, b));
            var (reference, referenceGrads) = ValueAndGradients(x, weight, bias, upstream, nn.functional.linear);
            using var noGradAfter = no_grad();
            var measures = new List<ErrorMeasure>
            {
                ErrorBounds.Compare(actual, reference, ErrorBounds.Linear(x, weight, bias, reference, ScalarType.Float32)),
                // dx = g·W (K = out), dW = gᵀ·x (K = rows), db = Σ g over the rows.
                ErrorBounds.Compare(actualGrads[0], referenceGrads[0], ErrorBounds.Product(upstream, weight)),
                ErrorBounds.Compare(actualGrads[1], referenceGrads[1], ErrorBounds.Product(upstream.t(), x)),
            };
            if (bias is not null) measures.Add(ErrorBounds.Compare(actualGrads[2], referenceGrads[2], ErrorBounds.Product(ones(1, Rows), upstream).squeeze(0)));
            return ErrorBounds.Worst([.. measures]);
        }

        private static (Tensor Value, IList<Tensor> Gradients) ValueAndGradients(Tensor x, Tensor weight, Tensor? bias, Tensor upstream, Func<Tensor, Tensor, Tensor?, Tensor> linear)
        {
            var leaves = new List<Tensor> { x.detach().requires_grad_(true), weight.detach().requires_grad_(true) };
            if (bias is not null) leaves.Add(bias.detach().requires_grad_(true));
            var y = linear(leaves[0], leaves[1], bias is null ? null : leaves[2]);
            var gradients = autograd.grad([y], leaves, [upstream]);
            return (y.detach(), gradients);
        }
    }
}
