using VitSharp.IO;
using VitSharp.Imaging;
using VitSharp.Models;
using static TorchSharp.torch;

namespace VitSharp.Training.Data;

/// <summary>
/// torchvision's <c>ImageFolder</c> layout: <c>root/CLASS/*.jpg</c>, one subfolder per class, classes numbered in ordinal
/// order of their names. Files are decoded with <see cref="ImageFile"/> and resized once, at load, to a fixed size with
/// PIL-exact bicubic (the <c>resize</c> preset of <see cref="ImagePreprocessing"/>, filter bicubic), so the dataset equals
/// <c>Resize((h, w), BICUBIC)</c> on PIL images. Every image is kept in memory as bytes (C*H*W each).
/// </summary>
public static class ImageFolderDataset
{
    /// <summary>
    /// Loads every image under <paramref name="root"/> (extensions of <see cref="ImageFile.Extensions"/>; other files are
    /// ignored). Images that cannot be decoded are left out and listed in the returned <see cref="ImageDataset.Skipped"/>.
    /// </summary>
    public static IImageDataset Load(string root, int height, int width, int channels = 3)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        if (channels is not (1 or 3)) throw new ArgumentException($"images load with 1 or 3 channels, not {channels}", nameof(channels));
        if (!Directory.Exists(root)) throw new DirectoryNotFoundException($"image folder {root} does not exist");

        var classes = Directory.GetDirectories(root).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToArray();
        if (classes.Length == 0) throw new ArgumentException($"image folder {root} has no class subfolders", nameof(root));
        var files = new List<(string Path, int Label)>();
        for (int label = 0; label < classes.Length; label++)
            files.AddRange(DirectoryWalk.Files(Path.Combine(root, classes[label]), IsImage).Select(path => (path, label)));

        // Mean 0, std 1 turn the preset's normalisation into plain ToTensor, so values are exactly byte / 255.
        var preprocessing = ImagePreprocessing.ForModel("resize", new VitConfig { ImgSize = new(height, width), PatchSize = 1, InChans = channels })
            with { Filter = ResizeFilter.Bicubic, Mean = [.. Enumerable.Repeat(0f, channels)], Std = [.. Enumerable.Repeat(1f, channels)] };
        int imageBytes = channels * height * width;
        var pixels = new byte[files.Count][];
        var errors = new string?[files.Count];
        Parallel.For(0, files.Count, i =>
        {
            try
            {
                using var bitmap = ImageFile.Load(files[i].Path);
                using var image = preprocessing.Prepare(bitmap);
                pixels[i] = ToBytes(image.data<float>().ToArray());
            }
            catch (IOException e)
            {
                errors[i] = e is ImageLoadException load ? load.Problem : e.Message;
            }
        });

        var kept = Enumerable.Range(0, files.Count).Where(i => errors[i] is null).ToArray();
        var data = new byte[checked(kept.Length * imageBytes)];
        for (int k = 0; k < kept.Length; k++) pixels[kept[k]].CopyTo(data, k * imageBytes);
        var skipped = Enumerable.Range(0, files.Count).Where(i => errors[i] is not null).Select(i => new SkippedImage(files[i].Path, errors[i]!)).ToArray();
        return new ImageDataset(data, [.. kept.Select(i => files[i].Label)], classes, channels, height, width,
            $"{Path.GetFullPath(root)} ({height}x{width}, bicubic)", skipped.Length == 0 ? null : $"{skipped.Length} unreadable image(s) skipped", skipped);
    }

    private static bool IsImage(string path) => ImageFile.Extensions.Contains(Path.GetExtension(path).ToLowerInvariant());

    /// <summary>Back to the uint8 the resize produced: the values are k / 255f, which round-trips exactly.</summary>
    private static byte[] ToBytes(float[] values)
    {
        var bytes = new byte[values.Length];
        for (int i = 0; i < values.Length; i++) bytes[i] = (byte)MathF.Round(values[i] * 255f);
        return bytes;
    }
}
