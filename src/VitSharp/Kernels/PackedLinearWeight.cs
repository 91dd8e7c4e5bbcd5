using static TorchSharp.torch;

namespace VitSharp.Kernels;

/// <summary>
/// A linear layer's weight packed once for oneDNN (<see cref="OneDnnPackedLinear"/>), and the facts about it that are
/// read on every call (each query of a tensor is a call into libtorch). A pack serves only the weight tensor it was
/// made from and only at the thread count it was made at: a weight replaced by <c>to(...)</c> or by assignment is
/// never served from an old pack, and a product is checked at the thread count it runs with. A weight changed in
/// place is not noticed: whoever packs is told to pack again.
/// </summary>
internal sealed class PackedLinearWeight : IDisposable
{
    // Weak: a pack must not keep a replaced weight alive.
    private readonly WeakReference<Tensor> source;

    private PackedLinearWeight(Tensor weight, Tensor packed, long outFeatures, long inFeatures, ScalarType dtype, int threads)
    {
        source = new WeakReference<Tensor>(weight);
        Packed = packed;
        OutFeatures = outFeatures;
        InFeatures = inFeatures;
        DType = dtype;
        Threads = threads;
    }

    /// <summary>The weight in oneDNN's blocked layout.</summary>
    public Tensor Packed { get; }

    public long OutFeatures { get; }

    public long InFeatures { get; }

    /// <summary>The weight's dtype, which the input must have.</summary>
    public ScalarType DType { get; }

    /// <summary>libtorch's thread count when the pack was made: the only one it runs at.</summary>
    public int Threads { get; }

    /// <summary><paramref name="weight"/> packed, or null where it cannot be (see <see cref="OneDnnPackedLinear.Supports"/>).</summary>
    public static PackedLinearWeight? TryPack(Tensor weight)
    {
        if (!OneDnnPackedLinear.Supports(weight)) return null;
        var shape = weight.shape;
        return new PackedLinearWeight(weight, OneDnnPackedLinear.Pack(weight), shape[0], shape[1], weight.dtype, get_num_threads());
    }

    /// <summary>Whether this was packed from <paramref name="weight"/> (the very tensor) and may run now: the thread count is the pack's.</summary>
    public bool Serves(Tensor weight) => source.TryGetTarget(out var packedFrom) && ReferenceEquals(packedFrom, weight) && get_num_threads() == Threads;

    public void Dispose() => Packed.Dispose();
}
