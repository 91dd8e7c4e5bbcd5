using VitSharp.Training.Data;
using static TorchSharp.torch;

namespace VitSharp.Tests.Training.Data;

/// <summary>
/// Image i is filled with the constant (i + 1) / 256 and has label i % classes, so a mixed pixel tells which images
/// went into it and in what share. <paramref name="failAt"/> makes Get throw for one index.
/// </summary>
internal sealed class SyntheticDataset(int count, int classes, int channels = 1, int height = 8, int width = 12, int failAt = -1) : IImageDataset
{
    public int Count => count;
    public IReadOnlyList<string> Labels { get; } = [.. Enumerable.Range(0, classes).Select(k => $"class{k}")];
    public int Channels => channels;
    public (int Height, int Width) ImageSize => (height, width);

    public static float Value(int index) => (index + 1) / 256f;

    public (Tensor Image, int Label) Get(int index)
    {
        if (index == failAt) throw new InvalidDataException($"image {index} is broken");
        return (full([channels, height, width], Value(index)), index % classes);
    }
}
