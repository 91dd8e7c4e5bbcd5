using System.Diagnostics;
using TorchSharp;
using TorchSharp.Modules;
using VitSharp.Native;
using static TorchSharp.torch;

namespace VitSharp.Modules;

/// <summary>Runs a <see cref="Linear"/> layer with the chosen <see cref="LinearKernel"/>.</summary>
public static class LinearKernels
{
    /// <summary>
    /// <see cref="LinearKernel.Auto"/> gives a product to oneDNN from this many rows (tokens × images) up, and from
    /// <see cref="AutoOneDnnMinMultiplyAdds"/> multiply-adds (rows × in × out) up. oneDNN costs some 30–40 µs more per
    /// call than MKL (AMD EPYC, AVX-512, 2 threads, 2026-11-28), and runs about 2× MKL's rate beyond. Over rows
    /// 16–16384 × in 64–768 × out 64–1024, oneDNN was slower at every 16-row product (0.26–0.80× MKL's speed) and
    /// at or below 4.2 M multiply-adds but one (0.28–0.97×; 64×64×1024 1.37×), and faster at every product of at least
    /// 64 rows and 12.6 M multiply-adds (1.24–2.41×).
    /// </summary>
    public const long AutoOneDnnMinRows = 64;

    /// <inheritdoc cref="AutoOneDnnMinRows"/>
    public const long AutoOneDnnMinMultiplyAdds = 1L << 23;

    /// <summary>
    /// A layer with a packed weight (<see cref="PackedLinearWeight"/>) runs from it under <see cref="LinearKernel.Auto"/>
    /// from this many multiply-adds (rows × in × out) up, at any number of rows: the packed product costs about 8 µs
    /// per call against MKL's 3 µs (AMD EPYC, AVX-512, 2 threads, 2026-11-28). Against libtorch's <c>linear</c> over
    /// rows 1–512 × (in, out) from 64 × 64 to 768 × 3072 (72 products, one weight each, warm), its speed was
    /// 0.18–0.62× below 2^18 multiply-adds, 0.68–1.28× from 2^18 to 2^19, and 0.98–5.95× from 2^19 up, where only
    /// 128 × 64 × 64 was slower (0.98×).
    /// </summary>
    public const long AutoPackedMinMultiplyAdds = 1L << 19;

    /// <summary>
    /// In bfloat16 a packed layer runs from its pack under <see cref="LinearKernel.Auto"/> only from this many rows up.
    /// Whole models, <c>vitsharp bench --dtype bf16 --pack on off</c> (AMD EPYC with AVX-512-BF16, 2 threads,
    /// 2026-11-28, two runs, ViT-S/16 and ViT-B/16 at 224): packed ran 0.83–1.00× as fast at batch 1 (197 rows),
    /// 0.97–1.01× at batch 2 (394), 1.02–1.10× at batch 4 (788), 1.00–1.07× at batch 8 and 1.03–1.06× at batch 16.
    /// </summary>
    public const long AutoPackedMinRowsBfloat16 = 512;

    /// <summary>
    /// Set while <see cref="Benchmarking.ForwardProfile"/> measures: told of each layer that ran outside its own
    /// <c>call</c> (so its forward hooks did not fire), with the wall time it took and whether it ran from a packed
    /// weight. Per thread: the forward pass runs on the thread that measures, and other threads are left alone.
    /// </summary>
    internal static Action<Linear, TimeSpan, bool>? BypassObserver
    {
        get => bypassObserver;
        set => bypassObserver = value;
    }

    [ThreadStatic]
    private static Action<Linear, TimeSpan, bool>? bypassObserver;

    /// <summary><paramref name="layer"/> applied to <paramref name="x"/> by <paramref name="kernel"/> where it applies, by the layer itself otherwise.</summary>
    public static Tensor Apply(this Linear layer, Tensor x, LinearKernel kernel) =>
        layer.Apply(x, kernel, kernel == LinearKernel.Auto ? Rows(x.shape) : 0);

    /// <summary>
    /// As <see cref="Apply(Linear, Tensor, LinearKernel)"/>, for a caller that knows how many rows <paramref name="x"/>
    /// has (the product of all but its last dimension): every query of a tensor is a call into libtorch, which costs
    /// about a microsecond, as much as a small layer's arithmetic.
    /// </summary>
    public static Tensor Apply(this Linear layer, Tensor x, LinearKernel kernel, long rows) => layer.Apply(x, kernel, rows, packed: null);

    /// <summary>
    /// As <see cref="Apply(Linear, Tensor, LinearKernel, long)"/>, from <paramref name="packed"/> where
    /// <see cref="UsesPacked"/> says so.
    /// </summary>
    internal static Tensor Apply(this Linear layer, Tensor x, LinearKernel kernel, long rows, PackedLinearWeight? packed)
    {
        if (UsesPacked(kernel, layer, packed, x, rows)) return layer.ApplyPacked(x, rows, packed!, gelu: false);
        if (!UsesOneDnn(kernel, layer, x, rows)) return layer.call(x);
        var weight = layer.weight!;
        if (BypassObserver is not { } observer) return OneDnnLinear.Forward(x, weight, layer.bias);
        long start = Stopwatch.GetTimestamp();
        var y = OneDnnLinear.Forward(x, weight, layer.bias);
        observer(layer, Stopwatch.GetElapsedTime(start), false);
        return y;
    }

    /// <summary>
    /// <paramref name="layer"/> applied to <paramref name="x"/> (<paramref name="rows"/> rows, or 0 if not known) from its
    /// packed weight, then the exact GELU when <paramref name="gelu"/> (one oneDNN call; an odd number of rows goes on
    /// one more where that was measured faster, see <see cref="PackedLinearRowPadding"/>).
    /// </summary>
    internal static Tensor ApplyPacked(this Linear layer, Tensor x, long rows, PackedLinearWeight packed, bool gelu)
    {
        if (BypassObserver is not { } observer) return PackedLinearRowPadding.Forward(x, rows, packed.Packed, layer.bias, gelu);
        long start = Stopwatch.GetTimestamp();
        var y = PackedLinearRowPadding.Forward(x, rows, packed.Packed, layer.bias, gelu);
        observer(layer, Stopwatch.GetElapsedTime(start), true);
        return y;
    }

    /// <summary>
    /// Whether <paramref name="layer"/> runs from <paramref name="packed"/>: a pack of its current weight, no gradients
    /// to record (the packed product has none), a CPU input of the pack's dtype, a kernel other than
    /// <see cref="LinearKernel.Blas"/>, and under <see cref="LinearKernel.Auto"/> at least
    /// <see cref="AutoPackedMinMultiplyAdds"/> (and in bfloat16 <see cref="AutoPackedMinRowsBfloat16"/> rows).
    /// </summary>
    internal static bool UsesPacked(LinearKernel kernel, Linear layer, PackedLinearWeight? packed, Tensor x, long rows) =>
        packed is not null && kernel != LinearKernel.Blas
        && (kernel != LinearKernel.Auto || (Math.Max(rows, 1) * layer.in_features * layer.out_features >= AutoPackedMinMultiplyAdds
            && (packed.DType != ScalarType.BFloat16 || rows >= AutoPackedMinRowsBfloat16)))
        && !is_grad_enabled() && packed.IsFor(layer) && x.dtype == packed.DType && x.device_type == DeviceType.CPU;

    /// <summary>The product of all but the last of <paramref name="shape"/>: the rows a linear layer multiplies.</summary>
    public static long Rows(ReadOnlySpan<long> shape)
    {
        long rows = 1;
        for (int i = 0; i < shape.Length - 1; i++) rows *= shape[i];
        return rows;
    }

    /// <summary>Whether <see cref="Apply(Linear, Tensor, LinearKernel, long)"/> gives this product to oneDNN.</summary>
    internal static bool UsesOneDnn(LinearKernel kernel, Linear layer, Tensor x, long rows) => kernel switch
    {
        LinearKernel.Blas => false,
        LinearKernel.OneDnn => OneDnnLinear.Supports(x, layer.weight!),
        // The size test first, on numbers the caller and the layer already hold: a small model's layers stop there.
        _ => rows >= AutoOneDnnMinRows && rows * layer.in_features * layer.out_features >= AutoOneDnnMinMultiplyAdds
            && OneDnnLinear.Supports(x, layer.weight!),
    };
}
