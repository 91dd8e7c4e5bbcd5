using VitSharp.Training.Data;
using static TorchSharp.torch;

namespace VitSharp.Training;

/// <summary>The first <c>count</c> images of a dataset (for short runs: <c>--limit-train</c>, <c>--limit-test</c>).</summary>
public sealed class DatasetSubset(IImageDataset inner, int count) : IImageDataset
{
    public int Count { get; } = Math.Clamp(count, 0, inner.Count);

    /// <summary>The whole dataset this is the start of.</summary>
    public IImageDataset Inner => inner;
    public IReadOnlyList<string> Labels => inner.Labels;
    public int Channels => inner.Channels;
    public (int Height, int Width) ImageSize => inner.ImageSize;

    public (Tensor Image, int Label) Get(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        return inner.Get(index);
    }
}
