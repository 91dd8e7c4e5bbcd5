using System.Runtime.InteropServices;
using TorchSharp;
using VitSharp.Native;
using static TorchSharp.torch;

namespace VitSharp.Kernels;

/// <summary>
/// <c>y = x·Wᵀ + b</c> computed by oneDNN's inner product from a weight packed once into the blocked layout oneDNN's
/// kernel reads, so that it is not reordered on every call (<see cref="OneDnnLinear"/> does that). For inference only:
/// the operator has no gradient.
/// <para>
/// TorchSharp binds neither operator, and TorchScript compiled from C# resolves only <c>aten::</c> names. libtorch
/// exports a stable C interface for the code AOTInductor generates, which reaches both: the typed shim
/// <c>aoti_torch_cpu__linear_pointwise</c> and the boxed <c>aoti_torch_call_dispatcher</c> for
/// <c>mkldnn::_reorder_linear_weight</c>. Both take and return <c>at::Tensor*</c>, which is what a TorchSharp handle is,
/// and both turn C++ exceptions into error codes.
/// </para>
/// <para>
/// oneDNN blocks the weight's output channels in blocks of 16, 32, 48 or 64, chosen per CPU, shape and thread count, and
/// zero-pads the last block. On an AMD EPYC of family 26 every output width that left a padded block gave wrong
/// products (docs/kernels.md), so a weight is packed with its output width padded by zero rows to a multiple of 192,
/// which every block size divides, and the extra outputs are dropped; widths where that padding would add more than a
/// quarter of the work are not packed (the layer takes another path). Input widths must be a multiple of 64 (the
/// input is blocked by 16, or by pairs of 16 in bfloat16). Every product is still computed only for signatures that
/// have reproduced libtorch's <c>linear</c> in this process (<see cref="KernelChecks"/>).
/// </para>
/// </summary>
internal static class OneDnnPackedLinear
{
    private delegate int NewTensorHandle(IntPtr tensor, out IntPtr copy);

    // The stack holds one 64-bit slot per argument; a tensor slot is an at::Tensor* that the call takes over.
    private delegate int CallDispatcher([MarshalAs(UnmanagedType.LPUTF8Str)] string op, [MarshalAs(UnmanagedType.LPUTF8Str)] string overload, [In, Out] ulong[] stack);

    // (X, W, B*, attr, scalars**, scalars_len, algorithm*, out Y): an optional argument is a pointer to its value or null.
    private delegate int LinearPointwise(IntPtr x, IntPtr weight, IntPtr[]? bias, [MarshalAs(UnmanagedType.LPUTF8Str)] string attr,
        IntPtr scalars, long scalarsLength, [MarshalAs(UnmanagedType.LPArray, ArraySubType = UnmanagedType.LPStr)] string[]? algorithm, out IntPtr y);

    private sealed record Exports(NewTensorHandle NewTensorHandle, CallDispatcher CallDispatcher, LinearPointwise LinearPointwise);

    private static readonly Lazy<Exports?> Loaded = new(Load, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Whether this libtorch exports the packing and the packed product (x86-64 only).</summary>
    public static bool IsAvailable => Loaded.Value is not null;

    /// <summary>Output widths are padded to a multiple of this: every block size oneDNN uses for them (16, 32, 48, 64) divides it.</summary>
    public const long OutputMultiple = 192;

    /// <summary>Input widths must be a multiple of this.</summary>
    public const long InputMultiple = 64;

    /// <summary>Whether a weight of these widths suits the packed layout (<see cref="InputMultiple"/>, <see cref="PaddedOutFeatures"/>).</summary>
    public static bool SupportsWidths(long inFeatures, long outFeatures) =>
        inFeatures % InputMultiple == 0 && PaddedOutFeatures(outFeatures) is not null;

    /// <summary>The output width <paramref name="outFeatures"/> padded to <see cref="OutputMultiple"/>, or null where that would add more than a quarter.</summary>
    public static long? PaddedOutFeatures(long outFeatures)
    {
        long padded = (outFeatures + OutputMultiple - 1) / OutputMultiple * OutputMultiple;
        return padded * 4 <= outFeatures * 5 ? padded : null;
    }

    /// <summary>
    /// Whether <paramref name="weight"/> can be packed: a 2-D, non-empty weight on the CPU whose widths suit the
    /// layout (<see cref="InputMultiple"/>, <see cref="PaddedOutFeatures"/>), float32, or bfloat16 where
    /// the CPU has bfloat16 dot-product instructions and oneDNN may use them (<see cref="CpuFeatures.OneDnnRunsBfloat16"/>;
    /// elsewhere oneDNN emulates them, slower than libtorch's own path, or libtorch refuses).
    /// </summary>
    public static bool Supports(Tensor weight)
    {
        if (weight.device_type != DeviceType.CPU || weight.dim() != 2 || weight.numel() == 0 || !IsAvailable) return false;
        if (!SupportsWidths(weight.shape[1], weight.shape[0])) return false;
        var dtype = weight.dtype;
        return dtype == ScalarType.Float32 || (dtype == ScalarType.BFloat16 && CpuFeatures.OneDnnRunsBfloat16());
    }

    /// <summary>
    /// <paramref name="weight"/> <c>[out, in]</c>, its rows padded with zeros to <see cref="PaddedOutFeatures"/>, in
    /// oneDNN's blocked layout: an opaque tensor for <see cref="TryForward"/> only. It is a copy: later changes to
    /// <paramref name="weight"/> do not reach it.
    /// </summary>
    public static Tensor Pack(Tensor weight)
    {
        if (!Supports(weight)) throw new ArgumentException($"only a 2-D float32 CPU weight (or bfloat16, on a CPU with bfloat16 instructions) with an input width that is a multiple of {InputMultiple} can be packed for oneDNN, not {weight.dtype} {string.Join("×", weight.shape)} on {weight.device}", nameof(weight));
        using var noGrad = no_grad();
        long outFeatures = weight.shape[0], padRows = PaddedOutFeatures(outFeatures)!.Value - outFeatures;
        using var contiguous = padRows == 0 ? weight.detach().contiguous() : nn.functional.pad(weight.detach(), [0, 0, 0, padRows]);
        var exports = Loaded.Value!;
        Check(exports.NewTensorHandle(contiguous.Handle, out var handle), "copying a tensor handle");
        // mkldnn::_reorder_linear_weight(Tensor self, int? batch_size=None): the handle, then None (a null slot).
        var stack = new ulong[] { (ulong)handle, 0 };
        Check(exports.CallDispatcher("mkldnn::_reorder_linear_weight", "", stack), "packing a weight (mkldnn::_reorder_linear_weight)");
        return Tensor.UnsafeCreateTensor((IntPtr)stack[0]);
    }

    /// <summary>
    /// <c>x·Wᵀ + b</c> for <c>x [..., in]</c> (CPU, contiguous, the pack's dtype) with <paramref name="rows"/> rows, from
    /// <paramref name="pack"/> and <paramref name="bias"/> <c>[out]</c> or none, where this signature has been checked
    /// in this process; null where the kernel does not serve it, and the caller computes libtorch's <c>linear</c>
    /// instead. The result carries no gradient.
    /// </summary>
    public static Tensor? TryForward(Tensor x, long rows, PackedLinearWeight pack, Tensor? bias)
    {
        var signature = new Signature(rows, pack.InFeatures, pack.OutFeatures, bias is not null, pack.DType, pack.Threads);
        return KernelChecks.Agrees(signature) ? Compute(signature, x, pack.Packed, bias) : null;
    }

    private static Tensor Compute(in Signature signature, Tensor x, Tensor packed, Tensor? bias)
    {
        var exports = Loaded.Value ?? throw new InvalidOperationException("oneDNN's packed linear is not available in this libtorch");
        long padRows = PaddedOutFeatures(signature.Out)!.Value - signature.Out;
        using var paddedBias = bias is not null && padRows > 0 ? nn.functional.pad(bias, [0, padRows]) : null;
        var biasHandle = (paddedBias ?? bias)?.Handle;
        Check(exports.LinearPointwise(x.Handle, packed.Handle, biasHandle is { } b ? [b] : null, "none", IntPtr.Zero, 0, null, out var handle),
            "the packed product (mkldnn::_linear_pointwise)");
        var y = Tensor.UnsafeCreateTensor(handle);
        if (padRows > 0)
        {
            using var padded = y;
            using var kept = padded.narrow(-1, 0, signature.Out);
            y = kept.contiguous();
        }
        return KernelFaults.Apply(signature, y);
    }

    private static void Check(int error, string what)
    {
        // libtorch has already logged the C++ exception's message to stderr.
        if (error != 0) throw new InvalidOperationException($"libtorch failed in {what} (error {error}; its message is on stderr)");
    }

    private static Exports? Load()
    {
        // Measured on x86-64 only; the same reason as OneDnnScript's.
        if (RuntimeInformation.ProcessArchitecture != Architecture.X64) return null;
        TorchRuntime.EnsureLoaded();
        string name = OperatingSystem.IsWindows() ? "torch_cpu.dll" : OperatingSystem.IsMacOS() ? "libtorch_cpu.dylib" : "libtorch_cpu.so";
        if (!NativeLibrary.TryLoad(name, out var library)) return null;
        if (!NativeLibrary.TryGetExport(library, "aoti_torch_new_tensor_handle", out var newHandle)
            || !NativeLibrary.TryGetExport(library, "aoti_torch_call_dispatcher", out var dispatcher)
            || !NativeLibrary.TryGetExport(library, "aoti_torch_cpu__linear_pointwise", out var pointwise))
            return null;
        return new Exports(
            Marshal.GetDelegateForFunctionPointer<NewTensorHandle>(newHandle),
            Marshal.GetDelegateForFunctionPointer<CallDispatcher>(dispatcher),
            Marshal.GetDelegateForFunctionPointer<LinearPointwise>(pointwise));
    }

    /// <summary>One packed product shape: rows × in → out, in the pack's dtype, at the thread count the pack was made and runs with.</summary>
    internal readonly record struct Signature(long Rows, long In, long Out, bool Bias, ScalarType DType, int Threads) : IKernelSignature
    {
        public string Kernel => "oneDNN packed linear";

        public string Describe() => $"{Rows}×{In}→{Out}{(Bias ? ", bias" : "")}, {DType.ToString().ToLowerInvariant()}, {Threads} thread{(Threads == 1 ? "" : "s")}";

        /// <summary>A random weight packed as a layer's is, and a random input, against libtorch's <c>linear</c> in float32 on the same values.</summary>
        public ErrorMeasure Check()
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var generator = new Generator(seed: 19);
            var x = randn([Rows, In], generator: generator).to(DType);
            var weight = randn([Out, In], generator: generator).to(DType);
            var bias = Bias ? randn([Out], generator: generator).to(DType) : null;
            var actual = Compute(this, x, Pack(weight), bias);
            var (x32, weight32, bias32) = (x.to(ScalarType.Float32), weight.to(ScalarType.Float32), bias?.to(ScalarType.Float32));
            var expected = nn.functional.linear(x32, weight32, bias32);
            return ErrorBounds.Compare(actual, expected, ErrorBounds.Linear(x32, weight32, bias32, expected, DType));
        }
    }
}
