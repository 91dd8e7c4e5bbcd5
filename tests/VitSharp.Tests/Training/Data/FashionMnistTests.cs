using VitSharp.Training.Data;

namespace VitSharp.Tests.Training.Data;

/// <summary>Fashion-MNIST: class names, the bundled sample, and the sample's equality with Debian's files.</summary>
public class FashionMnistTests
{
    private static bool DebianInstalled => File.Exists(Path.Combine(FashionMnist.DebianFolder, "train-images-idx3-ubyte.gz"));

    [Fact]
    public void Class_names_are_zalandos()
    {
        Assert.Equal(["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"], FashionMnist.ClassNames);
        Assert.StartsWith("http", FashionMnist.DownloadUrl);
    }

    [Theory]
    [InlineData("train", new[] { 9, 0, 0, 3, 0, 2, 7, 2, 5, 5 }, new[] { 107, 104, 86, 92, 95, 100, 100, 115, 102, 99 }, 56558003L)]
    [InlineData("test", new[] { 9, 2, 1, 1, 6, 1, 4, 6, 5, 7 }, new[] { 107, 105, 111, 93, 115, 87, 97, 95, 95, 95 }, 58034149L)]
    public void The_sample_holds_the_first_1000_images(string split, int[] firstLabels, int[] classCounts, long pixelSum)
    {
        var sample = (ImageDataset)FashionMnist.Open("fashion-mnist:sample", split);
        Assert.Equal(1000, sample.Count);
        Assert.Equal(1, sample.Channels);
        Assert.Equal((28, 28), sample.ImageSize);
        Assert.Equal(FashionMnist.ClassNames, sample.Labels);
        Assert.Null(sample.Note);
        var labels = Enumerable.Range(0, sample.Count).Select(i => Label(sample, i)).ToArray();
        // Known values of the official files (first labels, class histogram and pixel sum of the first 1000).
        Assert.Equal(firstLabels, labels[..10]);
        Assert.Equal(classCounts, Enumerable.Range(0, 10).Select(k => labels.Count(l => l == k)));
        Assert.Equal(pixelSum, Enumerable.Range(0, sample.Count).Sum(i => PixelSum(sample, i)));

        if (DebianInstalled)
        {
            var full = FashionMnist.Load(FashionMnist.DebianFolder, split);
            Assert.Equal(split == "train" ? 60000 : 10000, full.Count);
            for (int i = 0; i < sample.Count; i++)
            {
                var (a, la) = sample.Get(i);
                var (b, lb) = full.Get(i);
                using (a)
                using (b)
                {
                    Assert.Equal(lb, la);
                    Assert.True(a.equal(b).all().item<bool>(), $"image {i} differs");
                }
            }
        }
    }

    [Fact]
    public void Open_without_a_spec_uses_debian_or_says_it_fell_back()
    {
        var data = (ImageDataset)FashionMnist.Open(null, "test");
        if (DebianInstalled)
        {
            Assert.Equal(10000, data.Count);
            Assert.Contains(FashionMnist.DebianFolder, data.Source);
            Assert.Null(data.Note);
        }
        else
        {
            Assert.Equal(1000, data.Count);
            Assert.Contains("bundled sample", data.Note);
            Assert.Contains("dataset-fashion-mnist", data.Note);
        }
    }

    [Fact]
    public void Images_are_channel_first_floats_in_0_1()
    {
        var (image, label) = FashionMnist.Open("fashion-mnist:sample", "train").Get(0);
        using (image)
        {
            Assert.Equal([1L, 28, 28], image.shape);
            Assert.Equal(TorchSharp.torch.ScalarType.Float32, image.dtype);
            Assert.Equal(9, label);
            Assert.InRange(image.min().item<float>(), 0f, 0f);
            Assert.InRange(image.max().item<float>(), 0.99f, 1f);
        }
    }

    [Fact]
    public void Unknown_splits_and_indices_are_refused()
    {
        Assert.Throws<ArgumentException>(() => FashionMnist.Open("fashion-mnist:sample", "val"));
        var data = FashionMnist.Open("fashion-mnist:sample", "test");
        Assert.Throws<ArgumentOutOfRangeException>(() => data.Get(1000));
        Assert.Throws<ArgumentOutOfRangeException>(() => data.Get(-1));
    }

    private static int Label(IImageDataset data, int index)
    {
        var (image, label) = data.Get(index);
        image.Dispose();
        return label;
    }

    private static long PixelSum(IImageDataset data, int index)
    {
        var (image, _) = data.Get(index);
        using (image) return image.data<float>().ToArray().Sum(v => (long)MathF.Round(v * 255f));
    }
}
