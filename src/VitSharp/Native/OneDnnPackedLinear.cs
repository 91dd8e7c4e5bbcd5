using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace VitSharp.Native;

/// <summary>
/// <c>y = x·Wᵀ + b</c>, optionally followed by the exact GELU, computed by oneDNN's inner product from a weight packed
/// once into the blocked layout oneDNN's kernel reads. For inference only: the operator has no gradient.
/// <para>
/// <b>Why.</b> <see cref="OneDnnLinear"/> hands oneDNN a plain weight, and oneDNN reorders it into its blocked layout on
/// every call. <c>ONEDNN_VERBOSE</c> on ViT-S/16 at batch 1 (AMD EPYC, 2 threads, 2026-11-28) showed the four reorders
/// of a block taking 0.65 ms beside 1.3 ms of products, 7.8 ms of a 35 ms pass, and a layer's weight comes from DRAM
/// each time since the model's 88 MB do not stay in the 32 MB L3. Packed once, the products ran at 350–480 GFLOP/s
/// against 320–350 with the weights cycled through memory as in a model, at 197 rows (1.1–1.4×), and 1.0–1.05× at
/// 1576 rows. The exact GELU rides along as a oneDNN post-op, saving a pass over the MLP's hidden activations.
/// </para>
/// <para>
/// <b>How.</b> TorchSharp binds neither operator, and TorchScript compiled from C# resolves only <c>aten::</c> names.
/// libtorch exports a stable C interface for the code AOTInductor generates, which reaches both: the typed shim
/// <c>aoti_torch_cpu__linear_pointwise</c> and the boxed <c>aoti_torch_call_dispatcher</c> for
/// <c>mkldnn::_reorder_linear_weight</c>. Both take and return <c>at::Tensor*</c>, which is what a TorchSharp handle is,
/// and both turn C++ exceptions into error codes. On first use the three exports are looked up and a probe checks one
/// packed product, with and without GELU and bias, against libtorch's <c>linear</c>; where any step fails, the packed
/// path is simply not offered (<see cref="IsAvailable"/>).
/// </para>
/// </summary>
public static class OneDnnPackedLinear
{
    private delegate int NewTensorHandle(IntPtr tensor, out IntPtr copy);

    // The stack holds one 64-bit slot per argument; a tensor slot is an at::Tensor* that the call takes over.
    private delegate int CallDispatcher([MarshalAs(UnmanagedType.LPUTF8Str)] string op, [MarshalAs(UnmanagedType.LPUTF8Str)] string overload, [In, Out] ulong[] stack);

    // (X, W, B*, attr, scalars**, scalars_len, algorithm*, out Y): an optional argument is a pointer to its value or null.
    private delegate int LinearPointwise(IntPtr x, IntPtr weight, IntPtr[]? bias, [MarshalAs(UnmanagedType.LPUTF8Str)] string attr,
        IntPtr scalars, long scalarsLength, [MarshalAs(UnmanagedType.LPArray, ArraySubType = UnmanagedType.LPStr)] string[]? algorithm, out IntPtr y);

    private sealed record Exports(NewTensorHandle NewTensorHandle, CallDispatcher CallDispatcher, LinearPointwise LinearPointwise);

    private static readonly Lazy<Exports?> Loaded = new(LoadAndProbe, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Whether this libtorch packs and runs the product correctly on this machine (checked once, on first use).</summary>
    public static bool IsAvailable => Loaded.Value is not null;

    private static readonly Lazy<bool> PacksBfloat16 = new(ProbeBfloat16, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>
    /// Whether <paramref name="weight"/> can be packed: a 2-D weight on the CPU, float32 where <see cref="IsAvailable"/>,
    /// or bfloat16 where the CPU also has bfloat16 dot-product instructions (<see cref="CpuFeatures.HasBf16Instructions"/>;
    /// elsewhere oneDNN emulates them, slower than libtorch's own path) and a bfloat16 probe agreed.
    /// </summary>
    public static bool Supports(Tensor weight)
    {
        if (weight.device_type != DeviceType.CPU || weight.dim() != 2 || weight.numel() == 0) return false;
        var dtype = weight.dtype;
        return dtype == ScalarType.Float32 ? IsAvailable : dtype == ScalarType.BFloat16 && PacksBfloat16.Value;
    }

    /// <summary>
    /// <paramref name="weight"/> <c>[out, in]</c> in oneDNN's blocked layout: an opaque tensor for <see cref="Forward"/>
    /// only, as large as the weight. It is a copy: later changes to <paramref name="weight"/> do not reach it.
    /// </summary>
    public static Tensor Pack(Tensor weight)
    {
        if (!Supports(weight)) throw new ArgumentException($"only a 2-D float32 CPU weight (or bfloat16, on a CPU with bfloat16 instructions) can be packed for oneDNN, not {weight.dtype} {string.Join("×", weight.shape)} on {weight.device}", nameof(weight));
        return PackWith(Loaded.Value!, weight.detach().contiguous());
    }

    /// <summary>
    /// <c>x·Wᵀ + b</c> for <c>x [..., in]</c> (CPU, the packed weight's dtype), with <paramref name="packed"/> from
    /// <see cref="Pack"/> and <paramref name="bias"/> <c>[out]</c> or none; then the exact (erf) GELU when
    /// <paramref name="gelu"/>. The result carries no gradient. In bfloat16 oneDNN sums in float32 and applies the GELU
    /// before rounding to bfloat16, where libtorch's <c>linear</c> then <c>gelu</c> rounds the product first.
    /// </summary>
    public static Tensor Forward(Tensor x, Tensor packed, Tensor? bias, bool gelu = false)
    {
        var exports = Loaded.Value ?? throw new InvalidOperationException("oneDNN's packed linear is not available in this libtorch");
        var dtype = packed.dtype; // once: every query of a tensor is a call into libtorch
        if (x.dim() < 1 || x.shape[^1] != packed.shape[1] || x.dtype != dtype || x.device_type != DeviceType.CPU)
            throw new ArgumentException($"the packed weight takes {Name(dtype)} CPU inputs [..., {packed.shape[1]}], not {x.dtype} [{string.Join(", ", x.shape)}] on {x.device}", nameof(x));
        if (bias is not null && (bias.dim() != 1 || bias.shape[0] != packed.shape[0] || bias.dtype != dtype))
            throw new ArgumentException($"the bias must be {Name(dtype)} [{packed.shape[0]}], not {bias.dtype} [{string.Join(", ", bias.shape)}]", nameof(bias));
        return ForwardWith(exports, x, packed, bias, gelu);
    }

    private static string Name(ScalarType dtype) => dtype.ToString().ToLowerInvariant();

    private static Tensor PackWith(Exports exports, Tensor weight)
    {
        Check(exports.NewTensorHandle(weight.Handle, out var handle), "copying a tensor handle");
        // mkldnn::_reorder_linear_weight(Tensor self, int? batch_size=None): the handle, then None (a null slot).
        var stack = new ulong[] { (ulong)handle, 0 };
        Check(exports.CallDispatcher("mkldnn::_reorder_linear_weight", "", stack), "packing a weight (mkldnn::_reorder_linear_weight)");
        return Tensor.UnsafeCreateTensor((IntPtr)stack[0]);
    }

    private static Tensor ForwardWith(Exports exports, Tensor x, Tensor packed, Tensor? bias, bool gelu)
    {
        Check(exports.LinearPointwise(x.Handle, packed.Handle, bias is null ? null : [bias.Handle], gelu ? "gelu" : "none",
            IntPtr.Zero, 0, gelu ? ["none"] : null, out var y), "the packed product (mkldnn::_linear_pointwise)");
        return Tensor.UnsafeCreateTensor(y);
    }

    private static void Check(int error, string what)
    {
        // libtorch has already logged the C++ exception's message to stderr.
        if (error != 0) throw new InvalidOperationException($"libtorch failed in {what} (error {error}; its message is on stderr)");
    }

    private static Exports? LoadAndProbe()
    {
        // Measured on x86-64 only; the same reason as OneDnnScript's.
        if (RuntimeInformation.ProcessArchitecture != Architecture.X64) return null;
        TorchRuntime.EnsureLoaded();
        if (!TryLoadExports(out var exports)) return null;
        try
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            return ProbeAgrees(exports) ? exports : null;
        }
        catch (InvalidOperationException)
        {
            return null; // an error code: a libtorch built without oneDNN, or an operator that changed its schema
        }
    }

    /// <summary>The three exports, from the libtorch_cpu that TorchSharp already loaded (found by its name).</summary>
    private static bool TryLoadExports(out Exports exports)
    {
        exports = null!;
        string name = OperatingSystem.IsWindows() ? "torch_cpu.dll" : OperatingSystem.IsMacOS() ? "libtorch_cpu.dylib" : "libtorch_cpu.so";
        if (!NativeLibrary.TryLoad(name, out var library)) return false;
        if (!NativeLibrary.TryGetExport(library, "aoti_torch_new_tensor_handle", out var newHandle)
            || !NativeLibrary.TryGetExport(library, "aoti_torch_call_dispatcher", out var dispatcher)
            || !NativeLibrary.TryGetExport(library, "aoti_torch_cpu__linear_pointwise", out var pointwise))
            return false;
        exports = new Exports(
            Marshal.GetDelegateForFunctionPointer<NewTensorHandle>(newHandle),
            Marshal.GetDelegateForFunctionPointer<CallDispatcher>(dispatcher),
            Marshal.GetDelegateForFunctionPointer<LinearPointwise>(pointwise));
        return true;
    }

    /// <summary>
    /// One small product in <paramref name="dtype"/>, packed, with and without bias and GELU, against libtorch's own
    /// <c>linear</c> (compared in float32, with <c>allclose</c>'s tolerances).
    /// </summary>
    private static bool ProbeAgrees(Exports exports, ScalarType dtype = ScalarType.Float32, double rtol = 1e-5, double atol = 1e-5)
    {
        var generator = new Generator(seed: 1);
        var x = rand(new long[] { 2, 3, 8 }, generator: generator).to(dtype);
        var weight = rand(new long[] { 5, 8 }, generator: generator).to(dtype);
        var bias = rand(new long[] { 5 }, generator: generator).to(dtype);
        var packed = PackWith(exports, weight);
        bool Agrees(Tensor actual, Tensor expected) =>
            actual.to(ScalarType.Float32).allclose(expected.to(ScalarType.Float32), rtol: rtol, atol: atol);
        var expected = nn.functional.linear(x, weight, bias);
        return Agrees(ForwardWith(exports, x, packed, bias, gelu: false), expected)
            && Agrees(ForwardWith(exports, x, packed, null, gelu: false), nn.functional.linear(x, weight))
            && Agrees(ForwardWith(exports, x, packed, bias, gelu: true), nn.functional.gelu(expected));
    }

    /// <summary>
    /// Whether bfloat16 weights are packed here: the float32 route works, the CPU has bfloat16 dot-product instructions,
    /// and the probe's products in bfloat16 agree with libtorch's to bfloat16's precision.
    /// </summary>
    private static bool ProbeBfloat16()
    {
        if (Loaded.Value is not { } exports || CpuFeatures.HasBf16Instructions() != true) return false;
        try
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            // Sums up to about 8, where a bfloat16 step is 1/32, and the GELU applied before or after rounding: two steps.
            return ProbeAgrees(exports, ScalarType.BFloat16, rtol: 0, atol: 0.07);
        }
        catch (InvalidOperationException)
        {
            return false; // an error code: this libtorch's oneDNN does not take bfloat16 here
        }
    }
}
