namespace VitSharp.Models;

/// <summary>The activation between a convolutional stem's layers.</summary>
public enum StemActivation
{
    Relu,
    Gelu,
}

/// <summary>
/// The normalisation after each of a convolutional stem's layers but the last, by timm's names for its norm layers
/// (all under the key <c>bn</c>, all with eps 1e-5).
/// </summary>
public enum StemNorm
{
    /// <summary><c>batchnorm</c>: BatchNorm2d, momentum 0.1; normalises with the batch's statistics in training and the running ones in evaluation.</summary>
    BatchNorm,

    /// <summary><c>groupnorm1</c>: GroupNorm with one group (timm <c>GroupNorm1Act</c>): each image over all its channels and pixels.</summary>
    GroupNorm1,

    /// <summary><c>layernorm2d</c>: LayerNorm over the channels of each pixel (timm <c>LayerNormAct2d</c>).</summary>
    LayerNorm2d,
}

/// <summary>
/// The convolutional stem of a hybrid ViT (timm's <c>ConvStem</c> inside <c>HybridEmbed</c>): layer i is a
/// <c>kernel × kernel</c> convolution with stride <c>Strides[i]</c> to <c>Channels[i]</c> channels, followed by
/// a normalisation (<see cref="Norm"/>, BatchNorm unless set) and the activation, except the last, which is a bare convolution with a bias. Padding is timm's
/// default (<c>((stride - 1) + (kernel - 1)) / 2</c>, "same"-like) unless <see cref="Padding"/> sets it. Without
/// <see cref="Proj"/> the last layer's channels are the tokens (timm <c>proj=False</c>); with it a 1×1 convolution
/// maps them to the embedding width (timm <c>HybridEmbed.proj</c>, <c>patch_size=1</c>).
/// </summary>
public sealed record ConvStemSpec
{
    public ConvStemSpec(IReadOnlyList<int> channels, IReadOnlyList<int> strides, IReadOnlyList<int>? kernelSizes = null, int? padding = null,
        StemActivation activation = StemActivation.Relu, bool proj = false, StemNorm norm = StemNorm.BatchNorm)
    {
        Channels = [.. channels];
        Strides = [.. strides];
        KernelSizes = kernelSizes is null ? [.. channels.Select(_ => 3)] : [.. kernelSizes];
        Padding = padding;
        Activation = activation;
        Proj = proj;
        Norm = norm;
    }

    public IReadOnlyList<int> Channels { get; }
    public IReadOnlyList<int> Strides { get; }
    public IReadOnlyList<int> KernelSizes { get; }

    /// <summary>The same padding on every layer; null = timm's default per layer.</summary>
    public int? Padding { get; }
    public StemActivation Activation { get; }
    public bool Proj { get; }

    /// <summary>
    /// The normalisation between layers. Only <see cref="StemNorm.BatchNorm"/> keeps statistics across images, which ties a
    /// model to the scale it was trained at (a batch of 56×56 images and one of 28×28 have different statistics).
    /// </summary>
    public StemNorm Norm { get; }

    public int Depth => Channels.Count;

    /// <summary>Pixels per token along each side: the product of the strides.</summary>
    public int TotalStride => Strides.Aggregate(1, (a, s) => a * s);

    /// <summary>Padding of layer <paramref name="i"/>.</summary>
    public int PaddingOf(int i) => Padding ?? ((Strides[i] - 1) + (KernelSizes[i] - 1)) / 2;

    /// <summary>The side of layer <paramref name="i"/>'s output for an input side of <paramref name="side"/> pixels.</summary>
    public int OutputSide(int i, int side) => (side + 2 * PaddingOf(i) - KernelSizes[i]) / Strides[i] + 1;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first problem.</summary>
    public void Validate(int embedDim)
    {
        static void Require(bool ok, string message)
        {
            if (!ok) throw new ArgumentException($"invalid convolutional stem: {message}");
        }
        Require(Depth > 0, "it needs at least one layer");
        Require(Strides.Count == Depth && KernelSizes.Count == Depth, $"channels, strides and kernel sizes must have one entry per layer ({Channels.Count}, {Strides.Count}, {KernelSizes.Count})");
        Require(Channels.All(c => c > 0) && Strides.All(s => s > 0) && KernelSizes.All(k => k > 0), "channels, strides and kernel sizes must be positive");
        Require(Padding is null or >= 0, $"padding must be >= 0, got {Padding}");
        Require(Proj || Channels[^1] == embedDim, $"without a projection the last layer's {Channels[^1]} channels must equal embed_dim {embedDim}");
    }

    public bool Equals(ConvStemSpec? other) =>
        other is not null && Channels.SequenceEqual(other.Channels) && Strides.SequenceEqual(other.Strides) && KernelSizes.SequenceEqual(other.KernelSizes)
        && Padding == other.Padding && Activation == other.Activation && Proj == other.Proj && Norm == other.Norm;

    public override int GetHashCode() => HashCode.Combine(string.Join(",", Channels), string.Join(",", Strides), string.Join(",", KernelSizes), Padding, Activation, Proj, Norm);
}
