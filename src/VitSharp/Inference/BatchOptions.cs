using VitSharp.Imaging;

namespace VitSharp.Inference;

/// <summary>How many images go through the model at once and which images are accepted.</summary>
public sealed record BatchOptions
{
    /// <summary>Images per forward pass (default 8). Only images of the same preprocessed size share a batch.</summary>
    public int BatchSize { get; init; } = 8;

    /// <summary>Size bounds checked before an image is decoded; null = <see cref="ImageLimits.Default"/>.</summary>
    public ImageLimits? Limits { get; init; }

    /// <summary>Batches prepared ahead of the model (default 2): enough to keep the loader and the model both busy.</summary>
    public int Prefetch { get; init; } = 2;

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(BatchSize, 1, nameof(BatchSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(Prefetch, 1, nameof(Prefetch));
    }
}
