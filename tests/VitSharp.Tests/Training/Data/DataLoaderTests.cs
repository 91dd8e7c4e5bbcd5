using VitSharp.Training.Data;
using static TorchSharp.torch;

namespace VitSharp.Tests.Training.Data;

/// <summary>The loader's determinism, resumption, batch shapes, and its handling of early exits and failing datasets.</summary>
public class DataLoaderTests
{
    private static readonly AugmentOptions Everything = new()
    {
        RandomResizedCrop = true,
        HorizontalFlip = true,
        RandomErasing = 0.5,
        Mixup = 0.8,
        Cutmix = 1.0,
        LabelSmoothing = 0.1,
        OutputSize = (20, 16),
    };

    private static readonly IImageDataset Sample = FashionMnist.Open("fashion-mnist:sample", "train");

    /// <summary>The epoch's batches as arrays, each batch disposed once copied.</summary>
    private static List<(float[] Images, float[] Targets, long[] Labels)> Run(DataLoader loader, int epoch, int skip = 0)
    {
        var result = new List<(float[], float[], long[])>();
        foreach (var batch in loader.Epoch(epoch, skip))
            using (batch)
                result.Add((batch.Images.data<float>().ToArray(), batch.Targets.data<float>().ToArray(), batch.Labels.data<long>().ToArray()));
        return result;
    }

    private static void AssertSame(List<(float[] Images, float[] Targets, long[] Labels)> a, List<(float[] Images, float[] Targets, long[] Labels)> b)
    {
        Assert.Equal(a.Count, b.Count);
        for (int i = 0; i < a.Count; i++)
        {
            Assert.Equal(a[i].Labels, b[i].Labels);
            Assert.True(a[i].Images.AsSpan().SequenceEqual(b[i].Images), $"batch {i}: images differ");
            Assert.True(a[i].Targets.AsSpan().SequenceEqual(b[i].Targets), $"batch {i}: targets differ");
        }
    }

    [Fact]
    public void The_same_seed_gives_the_same_batches_whatever_the_worker_count()
    {
        var reference = Run(new DataLoader(Sample, 64, shuffle: true, seed: 7, Everything, workers: 0), epoch: 3);
        Assert.Equal(16, reference.Count);
        foreach (int workers in new[] { 1, 2, 3 })
            AssertSame(reference, Run(new DataLoader(Sample, 64, shuffle: true, seed: 7, Everything, workers: workers, prefetch: 1), epoch: 3));
    }

    [Fact]
    public void Other_seeds_and_epochs_give_other_batches()
    {
        var a = Run(new DataLoader(Sample, 250, shuffle: true, seed: 7, Everything), epoch: 0);
        var b = Run(new DataLoader(Sample, 250, shuffle: true, seed: 8, Everything), epoch: 0);
        var c = Run(new DataLoader(Sample, 250, shuffle: true, seed: 7, Everything), epoch: 1);
        Assert.NotEqual(a[0].Labels, b[0].Labels);
        Assert.NotEqual(a[0].Labels, c[0].Labels);
        // Every image appears once per epoch.
        Assert.Equal(Enumerable.Range(0, 1000).Select(i => (long)Label(i)).Order(), a.SelectMany(x => x.Labels).Order());
    }

    [Fact]
    public void Skipping_batches_gives_the_tail_of_the_full_epoch()
    {
        var loader = new DataLoader(Sample, 96, shuffle: true, seed: 1, Everything);
        var full = Run(loader, epoch: 2);
        Assert.Equal(11, full.Count);
        AssertSame(full[4..], Run(loader, epoch: 2, skip: 4));
        Assert.Empty(Run(loader, epoch: 2, skip: 11));
    }

    [Fact]
    public void An_image_is_augmented_the_same_in_any_batch()
    {
        var options = Everything with { Mixup = 0, Cutmix = 0 };
        var small = Run(new DataLoader(Sample, 4, shuffle: false, seed: 3, options), epoch: 5);
        var large = Run(new DataLoader(Sample, 8, shuffle: false, seed: 3, options), epoch: 5);
        int image = 20 * 16;
        Assert.True(small[1].Images.AsSpan().SequenceEqual(large[0].Images.AsSpan(4 * image, 4 * image)));
    }

    [Fact]
    public void Batches_have_the_documented_shapes()
    {
        var loader = new DataLoader(Sample, 300, shuffle: true, seed: 0, Everything, dropLast: false);
        Assert.Equal(4, loader.BatchesPerEpoch);
        Assert.Equal(3, new DataLoader(Sample, 300, shuffle: true, seed: 0, Everything, dropLast: true).BatchesPerEpoch);
        var sizes = new List<long>();
        foreach (var batch in loader.Epoch(0))
            using (batch)
            {
                long b = batch.Images.shape[0];
                sizes.Add(b);
                Assert.Equal([b, 1, 20, 16], batch.Images.shape);
                Assert.Equal([b, 10], batch.Targets.shape);
                Assert.Equal(ScalarType.Float32, batch.Targets.dtype);
                Assert.Equal([b], batch.Labels.shape);
                Assert.Equal(ScalarType.Int64, batch.Labels.dtype);
            }
        Assert.Equal([300L, 300, 300, 100], sizes);
    }

    [Fact]
    public void Leaving_an_epoch_early_stops_the_workers()
    {
        var loader = new DataLoader(Sample, 16, shuffle: true, seed: 0, Everything, workers: 2, prefetch: 2);
        foreach (var batch in loader.Epoch(0))
        {
            batch.Dispose();
            break;
        }
        // The same loader starts again from a clean state.
        Assert.Equal(63, loader.Epoch(0).Select(b => { b.Dispose(); return 1; }).Sum());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    public void A_failing_image_surfaces_its_own_exception(int workers)
    {
        var loader = new DataLoader(new SyntheticDataset(40, 4, failAt: 25), 8, shuffle: false, seed: 0, new AugmentOptions(), workers: workers);
        int delivered = 0;
        var e = Assert.Throws<InvalidDataException>(() =>
        {
            foreach (var batch in loader.Epoch(0))
            {
                batch.Dispose();
                delivered++;
            }
        });
        Assert.Contains("image 25", e.Message);
        Assert.Equal(3, delivered);
    }

    [Fact]
    public void Multi_resolution_resizes_whole_batches_and_changes_nothing_else()
    {
        var options = Everything with { MultiResolutions = [(40, 32), (12, 8)], MultiResolutionProb = 0.6 };
        var plain = new DataLoader(Sample, 32, shuffle: true, seed: 5, Everything);
        var multi = new DataLoader(Sample, 32, shuffle: true, seed: 5, options);
        var seen = new HashSet<(long, long)>();
        foreach (var (p, m) in plain.Epoch(1).Zip(multi.Epoch(1)))
            using (p)
            using (m)
            {
                seen.Add((m.Images.shape[2], m.Images.shape[3]));
                Assert.Equal(p.Labels.data<long>().ToArray(), m.Labels.data<long>().ToArray());
                Assert.True(p.Targets.equal(m.Targets).all().item<bool>());
                // The resized batch is the plain one, augmented and mixed the same, resized as the evaluation resizes.
                using var expected = m.Images.shape[2] == 20 ? p.Images.alias()
                    : nn.functional.interpolate(p.Images, size: [m.Images.shape[2], m.Images.shape[3]], mode: InterpolationMode.Bilinear, align_corners: false);
                Assert.Equal(expected.shape, m.Images.shape);
                Assert.True(expected.equal(m.Images).all().item<bool>());
            }
        Assert.Equal(new HashSet<(long, long)> { (20, 16), (40, 32), (12, 8) }, seen);
        // Deterministic whatever the worker count, like every other random choice.
        AssertSame(Run(new DataLoader(Sample, 32, true, 5, options, workers: 0), epoch: 2), Run(new DataLoader(Sample, 32, true, 5, options, workers: 2), epoch: 2));
    }

    [Fact]
    public void Same_pixel_multi_resolution_keeps_the_first_images_of_a_resized_batch()
    {
        // Base 20x16: a 40x32 batch keeps a quarter of its images (8 of 32); a 12x8 batch, smaller than the base, keeps all.
        var options = Everything with { MultiResolutions = [(40, 32), (12, 8)], MultiResolutionProb = 0.6 };
        var full = new DataLoader(Sample, 32, shuffle: true, seed: 5, options);
        var budget = new DataLoader(Sample, 32, shuffle: true, seed: 5, options with { MultiResolutionSamePixels = true });
        var seen = new HashSet<long>();
        foreach (var (f, m) in full.Epoch(1).Zip(budget.Epoch(1)))
            using (f)
            using (m)
            {
                long count = f.Labels.shape[0], keep = f.Images.shape[2] == 40 ? count / 4 : count;
                seen.Add(m.Images.shape[0]);
                Assert.Equal(keep, m.Images.shape[0]);
                Assert.Equal(keep, m.Targets.shape[0]);
                Assert.Equal(f.Labels.data<long>().Take((int)keep).ToArray(), m.Labels.data<long>().ToArray());
                Assert.True(f.Targets.narrow(0, 0, keep).equal(m.Targets).all().item<bool>());
                Assert.True(f.Images.narrow(0, 0, keep).equal(m.Images).all().item<bool>());
            }
        Assert.Contains(8, seen);
        Assert.Contains(32, seen);
    }

    [Fact]
    public void Multi_resolution_from_a_later_epoch_leaves_the_earlier_ones_alone_and_then_matches_the_always_on_loader()
    {
        var always = Everything with { MultiResolutions = [(40, 32)], MultiResolutionProb = 0.6 };
        var late = always with { MultiResolutionFromEpoch = 2 };
        // Before its start the late loader gives the plain batches; from it on, exactly the batches of the always-on one.
        AssertSame(Run(new DataLoader(Sample, 32, true, 5, Everything), epoch: 1), Run(new DataLoader(Sample, 32, true, 5, late), epoch: 1));
        var fromStart = Run(new DataLoader(Sample, 32, true, 5, late), epoch: 2);
        var plain = Run(new DataLoader(Sample, 32, true, 5, Everything), epoch: 2);
        Assert.Contains(fromStart.Zip(plain), pair => pair.First.Images.Length == 4 * pair.Second.Images.Length); // 40x32 against 20x16
        AssertSame(Run(new DataLoader(Sample, 32, true, 5, always), epoch: 2), fromStart);
        Assert.Throws<ArgumentOutOfRangeException>(() => new DataLoader(Sample, 8, true, 0, always with { MultiResolutionFromEpoch = -1 }));
    }

    [Fact]
    public void Options_that_cannot_work_are_refused()
    {
        Assert.Throws<ArgumentException>(() => new DataLoader(Sample, 8, true, 0, new AugmentOptions { Mean = [0.5f, 0.5f] }));
        Assert.Throws<ArgumentException>(() => new DataLoader(Sample, 8, true, 0, new AugmentOptions { LabelSmoothing = 1 }));
        Assert.Throws<ArgumentException>(() => new DataLoader(Sample, 8, true, 0, new AugmentOptions { RandomResizedCrop = true, ScaleMin = 0 }));
        Assert.Throws<ArgumentException>(() => new DataLoader(Sample, 8, true, 0, new AugmentOptions { MultiResolutionProb = 0.5 }));
        Assert.Throws<ArgumentException>(() => new DataLoader(Sample, 8, true, 0, new AugmentOptions { MultiResolutions = [(56, 56)], MultiResolutionProb = 1.5 }));
        Assert.Throws<ArgumentException>(() => new DataLoader(Sample, 8, true, 0, new AugmentOptions { MultiResolutions = [(0, 56)], MultiResolutionProb = 0.5 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new DataLoader(Sample, 0, true, 0, new AugmentOptions()));
        Assert.Throws<ArgumentOutOfRangeException>(() => new DataLoader(Sample, 8, true, 0, new AugmentOptions()).Epoch(0, 126));
    }

    private static int Label(int index)
    {
        var (image, label) = Sample.Get(index);
        image.Dispose();
        return label;
    }
}
