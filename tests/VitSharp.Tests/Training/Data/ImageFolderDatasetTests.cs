using SkiaSharp;
using VitSharp.Training.Data;

namespace VitSharp.Tests.Training.Data;

/// <summary>Image folders: classes from sorted subfolder names, load-time resize, and bad files skipped and listed.</summary>
public sealed class ImageFolderDatasetTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("vitsharp-folder-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private void Png(string cls, string name, int width, int height, SKColor color)
    {
        Directory.CreateDirectory(Path.Combine(_root, cls));
        using var bitmap = new SKBitmap(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        bitmap.Erase(color);
        using var file = File.Create(Path.Combine(_root, cls, name));
        bitmap.Encode(file, SKEncodedImageFormat.Png, 100);
    }

    [Fact]
    public void Classes_are_sorted_images_resized_and_bad_files_listed()
    {
        Png("zebra", "a.png", 30, 20, new SKColor(10, 200, 30));
        Png("ant", "b.png", 64, 64, new SKColor(255, 0, 128));
        Png("ant", "a.PNG", 5, 7, new SKColor(0, 0, 0));
        File.WriteAllText(Path.Combine(_root, "ant", "broken.jpg"), "not a jpeg");
        File.WriteAllText(Path.Combine(_root, "zebra", "notes.txt"), "ignored: not an image extension");

        var data = (ImageDataset)ImageFolderDataset.Load(_root, 12, 10);
        Assert.Equal(["ant", "zebra"], data.Labels);
        Assert.Equal(3, data.Count);
        Assert.Equal(3, data.Channels);
        Assert.Equal((12, 10), data.ImageSize);
        var skipped = Assert.Single(data.Skipped);
        Assert.Equal(Path.Combine(_root, "ant", "broken.jpg"), skipped.Path);
        Assert.Contains("not a supported image", skipped.Reason);
        Assert.Contains("1 unreadable", data.Note);

        // Ordinal file order within a class: a.PNG before b.png. A constant image stays exactly constant under bicubic.
        var expected = new (int Label, byte R, byte G, byte B)[] { (0, 0, 0, 0), (0, 255, 0, 128), (1, 10, 200, 30) };
        for (int i = 0; i < 3; i++)
        {
            var (image, label) = data.Get(i);
            using (image)
            {
                Assert.Equal(expected[i].Label, label);
                Assert.Equal([3L, 12, 10], image.shape);
                var channel = new[] { expected[i].R, expected[i].G, expected[i].B };
                for (int c = 0; c < 3; c++)
                    Assert.All(image[c].data<float>().ToArray(), v => Assert.Equal(channel[c] / 255f, v));
            }
        }
    }

    [Fact]
    public void Greyscale_loading_uses_pil_luma()
    {
        Png("only", "x.png", 8, 8, new SKColor(255, 0, 0));
        var (image, _) = ImageFolderDataset.Load(_root, 4, 4, channels: 1).Get(0);
        using (image) Assert.All(image.data<float>().ToArray(), v => Assert.Equal(76 / 255f, v));
    }

    [Fact]
    public void A_root_without_class_folders_is_refused()
    {
        Assert.Throws<ArgumentException>(() => ImageFolderDataset.Load(_root, 8, 8));
        Assert.Throws<DirectoryNotFoundException>(() => ImageFolderDataset.Load(Path.Combine(_root, "missing"), 8, 8));
        Assert.Throws<ArgumentException>(() => ImageFolderDataset.Load(_root, 8, 8, channels: 2));
    }
}
