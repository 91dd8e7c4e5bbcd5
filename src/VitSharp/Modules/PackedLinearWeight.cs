using TorchSharp.Modules;
using VitSharp.Native;
using static TorchSharp.torch;

namespace VitSharp.Modules;

/// <summary>
/// A linear layer's weight packed once for oneDNN (<see cref="OneDnnPackedLinear"/>), and the parameter it was packed
/// from. A layer runs from its pack only while that parameter is still the layer's weight, so a weight replaced by
/// <c>to(...)</c> or by assignment is never served from an old pack. A weight changed in place is not noticed: whoever
/// packs is told to pack again (<see cref="Models.VisionTransformer.PackLinearWeights"/>).
/// </summary>
internal sealed class PackedLinearWeight : IDisposable
{
    // Weak: a pack must not keep a replaced weight alive.
    private readonly WeakReference<Tensor> source;

    private PackedLinearWeight(Tensor weight, Tensor packed, ScalarType dtype)
    {
        source = new WeakReference<Tensor>(weight);
        Packed = packed;
        DType = dtype;
    }

    /// <summary>The weight in oneDNN's blocked layout.</summary>
    public Tensor Packed { get; }

    /// <summary>The weight's dtype, which the input must have (kept here: asking the tensor is a call into libtorch).</summary>
    public ScalarType DType { get; }

    /// <summary>The layer's weight packed, or null where it cannot be (see <see cref="OneDnnPackedLinear.Supports"/>).</summary>
    public static PackedLinearWeight? TryPack(Linear layer)
    {
        if (layer.weight is not { } weight || !OneDnnPackedLinear.Supports(weight)) return null;
        using var noGrad = no_grad();
        return new PackedLinearWeight(weight, OneDnnPackedLinear.Pack(weight), weight.dtype);
    }

    /// <summary>
    /// Replaces the pack in <paramref name="slot"/> by a fresh one of <paramref name="layer"/>'s weight (or by none where
    /// it cannot be packed); returns 1 if it packed, else 0, for the callers' counts.
    /// </summary>
    public static int Repack(ref PackedLinearWeight? slot, Linear layer)
    {
        Drop(ref slot);
        slot = TryPack(layer);
        return slot is null ? 0 : 1;
    }

    /// <summary>Disposes the pack in <paramref name="slot"/>, if any, and empties the slot.</summary>
    public static void Drop(ref PackedLinearWeight? slot)
    {
        slot?.Dispose();
        slot = null;
    }

    /// <summary>Whether this was packed from <paramref name="layer"/>'s current weight.</summary>
    public bool IsFor(Linear layer) => layer.weight is { } weight && source.TryGetTarget(out var packedFrom) && ReferenceEquals(packedFrom, weight);

    public void Dispose() => Packed.Dispose();
}
