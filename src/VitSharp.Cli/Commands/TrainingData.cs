using VitSharp.Training;
using VitSharp.Training.Data;

namespace VitSharp.Cli.Commands;

/// <summary>The <c>--dataset</c> specs of <c>train</c> and <c>eval</c>, and the normalisation each kind of data trains with.</summary>
internal static class TrainingData
{
    public const string SpecHelp = "fashion-mnist (Debian's /usr/share/datasets/fashion-mnist, else the bundled sample), fashion-mnist:DIR, fashion-mnist:sample, fashion-mnist:download (the official files, MD5-checked, cached in ~/.cache/vitsharp), or folder:DIR (DIR/SPLIT/CLASS/*.jpg)";

    /// <summary>
    /// One split of a dataset. Image folders are resized at load to <paramref name="size"/>; Fashion-MNIST stays 28x28
    /// (the loader resizes it). Greyscale data is normalised with 0.5 / 0.5, RGB with ImageNet's mean and std (as timm).
    /// The note says what the user should know about the data (e.g. that the bundled sample replaced a missing dataset).
    /// </summary>
    public static (IImageDataset Dataset, float[] Mean, float[] Std, string? Note) Open(string spec, string split, (int Height, int Width) size, int? limit)
    {
        IImageDataset dataset;
        if (spec.StartsWith("folder:", StringComparison.Ordinal))
        {
            string root = Path.Combine(spec["folder:".Length..], split);
            if (!Directory.Exists(root)) throw new DirectoryNotFoundException($"image folder split '{root}' does not exist (expected DIR/{split}/CLASS/images)");
            dataset = ImageFolderDataset.Load(root, size.Height, size.Width, channels: 3);
        }
        else if (spec == "fashion-mnist" || spec.StartsWith("fashion-mnist:", StringComparison.Ordinal))
        {
            dataset = FashionMnist.Open(spec, split);
        }
        else
        {
            throw new ArgumentException($"unknown --dataset '{spec}'; expected {SpecHelp}");
        }
        string? note = (dataset as ImageDataset)?.Note;
        if (limit is { } n)
        {
            if (n < 1) throw new ArgumentException($"a dataset limit must be at least 1, got {n}");
            dataset = new DatasetSubset(dataset, n);
        }
        return dataset.Channels == 3
            ? (dataset, [0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f], note)
            : (dataset, [0.5f], [0.5f], note);
    }
}
