using VitSharp.Native;
using static TorchSharp.torch;

namespace VitSharp.Training.Data;

/// <summary>
/// An <see cref="IImageDataset"/> held in memory as 8-bit pixels (C*H*W bytes per image, channel-first), as
/// <see cref="FashionMnist"/> and <see cref="ImageFolderDataset"/> return it. Bytes, not floats, keep an image folder at
/// a quarter of the memory; <see cref="Get"/> divides by 255 as torchvision's <c>ToTensor</c> does.
/// </summary>
public sealed class ImageDataset : IImageDataset
{
    private readonly byte[] _pixels;
    private readonly int[] _labels;
    private readonly int _imageBytes;

    internal ImageDataset(byte[] pixels, int[] labels, IReadOnlyList<string> classNames, int channels, int height, int width,
        string source, string? note = null, IReadOnlyList<SkippedImage>? skipped = null)
    {
        // Get makes tensors, possibly before any VitSharp type has loaded TorchSharp's native library.
        TorchRuntime.EnsureLoaded();
        _imageBytes = checked(channels * height * width);
        if (pixels.Length != checked(_imageBytes * labels.Length))
            throw new ArgumentException($"{pixels.Length} pixel bytes do not hold {labels.Length} images of {channels}x{height}x{width}");
        foreach (int label in labels)
            if ((uint)label >= (uint)classNames.Count)
                throw new ArgumentException($"label {label} is outside the {classNames.Count} classes of {source}");
        _pixels = pixels;
        _labels = labels;
        Labels = classNames;
        Channels = channels;
        ImageSize = (height, width);
        Source = source;
        Note = note;
        Skipped = skipped ?? [];
    }

    public int Count => _labels.Length;
    public IReadOnlyList<string> Labels { get; }
    public int Channels { get; }
    public (int Height, int Width) ImageSize { get; }

    /// <summary>Where the images came from (a folder, or the bundled sample), for logs.</summary>
    public string Source { get; }

    /// <summary>Something the user should be told about the data (e.g. that the bundled sample replaced a missing dataset); null when there is nothing.</summary>
    public string? Note { get; }

    /// <summary>Files that could not be read and were left out (image folders); empty when none were.</summary>
    public IReadOnlyList<SkippedImage> Skipped { get; }

    public (Tensor Image, int Label) Get(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        var values = new float[_imageBytes];
        var source = _pixels.AsSpan(index * _imageBytes, _imageBytes);
        for (int i = 0; i < values.Length; i++) values[i] = source[i] / 255f;
        return (tensor(values, [Channels, ImageSize.Height, ImageSize.Width]), _labels[index]);
    }
}
