using VitSharp.Training.Data;

namespace VitSharp.Tests.Training.Data;

/// <summary>What each augmentation does: Mixup and CutMix weights, label smoothing, crops, flips and erasing.</summary>
public class AugmentationTests
{
    private const int Classes = 50;

    /// <summary>One batch of 10 constant images with distinct labels, through the given options (mean 0, std 1: raw values).</summary>
    private static (float[] Images, float[] Targets, long[] Labels) Batch(AugmentOptions options, int seed, int batchIndex = 0)
    {
        var data = new SyntheticDataset(40, Classes, height: 16, width: 16);
        var loader = new DataLoader(data, 10, shuffle: false, seed, options with { Mean = [0f], Std = [1f] }, workers: 0);
        using var batch = loader.Epoch(0, batchIndex).First();
        return (batch.Images.data<float>().ToArray(), batch.Targets.data<float>().ToArray(), batch.Labels.data<long>().ToArray());
    }

    [Fact]
    public void Cutmix_lam_is_the_share_of_pixels_each_image_keeps()
    {
        int boxes = 0;
        for (int seed = 0; seed < 20; seed++)
        {
            var (images, targets, labels) = Batch(new AugmentOptions { Cutmix = 1.0 }, seed);
            for (int i = 0; i < 10; i++)
            {
                var pixels = images.AsSpan(i * 256, 256).ToArray();
                int mirror = 9 - i;
                double own = pixels.Count(p => p == SyntheticDataset.Value((int)labels[i])) / 256.0;
                double pasted = pixels.Count(p => p == SyntheticDataset.Value((int)labels[mirror])) / 256.0;
                Assert.Equal(1.0, own + pasted, 9);
                Assert.Equal(own, targets[i * Classes + (int)labels[i]], 6);
                Assert.Equal(pasted, targets[i * Classes + (int)labels[mirror]], 6);
                Assert.Equal(1.0, targets.AsSpan(i * Classes, Classes).ToArray().Sum(), 5);
            }
            if (targets[0 * Classes + (int)labels[0]] < 1) boxes++;
        }
        Assert.True(boxes >= 15, $"only {boxes} of 20 batches were cut");
    }

    [Fact]
    public void Mixup_blends_pixels_and_targets_with_one_lam()
    {
        var (images, targets, labels) = Batch(new AugmentOptions { Mixup = 0.8 }, seed: 4);
        for (int i = 0; i < 10; i++)
        {
            float a = SyntheticDataset.Value((int)labels[i]), b = SyntheticDataset.Value((int)labels[9 - i]);
            double lam = (images[i * 256] - b) / (a - b);
            Assert.Equal(lam, targets[i * Classes + (int)labels[i]], 4);
            Assert.Equal(1 - lam, targets[i * Classes + (int)labels[9 - i]], 4);
            Assert.All(images.AsSpan(i * 256, 256).ToArray(), p => Assert.Equal(images[i * 256], p));
        }
        Assert.InRange(targets[(int)labels[0]], 0.0001, 0.9999);
    }

    [Fact]
    public void Both_on_switches_between_mixup_and_cutmix()
    {
        int cut = 0;
        for (int seed = 0; seed < 40; seed++)
        {
            var (images, _, _) = Batch(new AugmentOptions { Mixup = 0.8, Cutmix = 1.0, MixupSwitchProb = 0.5 }, seed);
            // CutMix leaves images 0 pure and pasted pixels; Mixup makes all of image 0 one blended value.
            var first = images.AsSpan(0, 256).ToArray();
            if (first.Distinct().Count() > 1 || first[0] == SyntheticDataset.Value(0)) cut++;
        }
        Assert.InRange(cut, 10, 30);
    }

    [Fact]
    public void Label_smoothing_without_mixing_gives_on_and_off_values()
    {
        var (_, targets, labels) = Batch(new AugmentOptions { LabelSmoothing = 0.1 }, seed: 0);
        for (int i = 0; i < 10; i++)
            for (int k = 0; k < Classes; k++)
                Assert.Equal(k == labels[i] ? 0.9 + 0.1 / Classes : 0.1 / Classes, targets[i * Classes + k], 6);
    }

    [Fact]
    public void Random_resized_crops_fit_the_image_and_fall_back_to_a_centre_crop()
    {
        for (int i = 0; i < 2000; i++)
        {
            var rng = CounterRng.For(1, 2, CounterRng.Purpose.Sample, i);
            var box = RandomResizedCrop.Sample(ref rng, 28, 40, 0.08, 3 / 4.0, 4 / 3.0);
            Assert.InRange(box.Height, 1, 28);
            Assert.InRange(box.Width, 1, 40);
            Assert.InRange(box.Top, 0, 28 - box.Height);
            Assert.InRange(box.Left, 0, 40 - box.Width);
            Assert.InRange(box.Height * box.Width, 0.08 * 28 * 40 * 0.8, 28 * 40);
        }
        // A 10x100 image cannot hold any crop of ratio <= 2 at >= 90% of its area: centre crop clamped to ratio 2.
        var fallback = CounterRng.For(0, 0, CounterRng.Purpose.Sample, 0);
        Assert.Equal(new CropBox(0, 40, 10, 20), RandomResizedCrop.Sample(ref fallback, 10, 100, 0.9, 1.0, 2.0));
    }

    [Fact]
    public void Random_resized_crop_gives_the_output_size_and_flip_mirrors()
    {
        var data = FashionMnist.Open("fashion-mnist:sample", "test");
        var cropped = new DataLoader(data, 5, false, 0, new AugmentOptions { RandomResizedCrop = true, OutputSize = (32, 24) }, workers: 0);
        using (var batch = cropped.Epoch(0).First()) Assert.Equal([5L, 1, 32, 24], batch.Images.shape);

        // With flip on, each image is either itself or its mirror, and both happen.
        var plain = new DataLoader(data, 40, false, 0, new AugmentOptions(), workers: 0);
        var flipped = new DataLoader(data, 40, false, 0, new AugmentOptions { HorizontalFlip = true }, workers: 0);
        using var a = plain.Epoch(0).First();
        using var b = flipped.Epoch(0).First();
        int mirrored = 0;
        for (int i = 0; i < 40; i++)
        {
            bool same = a.Images[i].equal(b.Images[i]).all().item<bool>();
            bool mirror = a.Images[i].flip(2).equal(b.Images[i]).all().item<bool>();
            Assert.True(same || mirror);
            if (!same) mirrored++;
        }
        Assert.InRange(mirrored, 8, 32);
    }

    [Fact]
    public void Crop_padding_shifts_each_image_by_at_most_the_padding_and_fills_with_zeros()
    {
        // Mean 0, std 1: the batch holds raw pixels, so padding shows up as exact zeros.
        var data = FashionMnist.Open("fashion-mnist:sample", "test");
        var raw = new AugmentOptions { Mean = [0f], Std = [1f] };
        using var plain = new DataLoader(data, 40, false, 0, raw, workers: 0).Epoch(0).First();
        using var shifted = new DataLoader(data, 40, false, 0, raw with { CropPadding = 3 }, workers: 0).Epoch(0).First();
        var shifts = new HashSet<(int, int)>();
        for (int i = 0; i < 40; i++)
        {
            var original = plain.Images[i][0];
            var moved = shifted.Images[i][0];
            // Which shift (dy, dx) reproduces the output: out[y, x] = in[y + dy, x + dx], zero outside the image.
            var match = (from dy in Enumerable.Range(-3, 7)
                         from dx in Enumerable.Range(-3, 7)
                         where TorchSharp.torch.nn.functional.pad(original, [3, 3, 3, 3]).narrow(0, 3 + dy, 28).narrow(1, 3 + dx, 28).equal(moved).all().item<bool>()
                         select (dy, dx)).ToList();
            Assert.NotEmpty(match);
            shifts.Add(match[0]);
        }
        Assert.True(shifts.Count >= 15, $"only {shifts.Count} distinct shifts in 40 images");
        Assert.Throws<ArgumentException>(() => new DataLoader(data, 4, false, 0, raw with { CropPadding = -1 }, workers: 0).Epoch(0).First());
    }

    [Fact]
    public void Zoom_cuts_a_window_of_the_enlarged_image_and_changes_no_other_choice()
    {
        var data = FashionMnist.Open("fashion-mnist:sample", "test");
        var raw = new AugmentOptions { Mean = [0f], Std = [1f] };
        using var plain = new DataLoader(data, 40, false, 0, raw, workers: 0).Epoch(0).First();
        using var zoomed = new DataLoader(data, 40, false, 0, raw with { ZoomFactors = [2.0], ZoomProb = 1 }, workers: 0).Epoch(0).First();
        var offsets = new HashSet<(int, int)>();
        for (int i = 0; i < 40; i++)
        {
            // The eval-time resize of the whole image to 56x56, then the window that reproduces the output.
            using var enlarged = TorchSharp.torch.nn.functional.interpolate(plain.Images[i].unsqueeze(0), size: [56, 56],
                mode: TorchSharp.torch.InterpolationMode.Bilinear, align_corners: false).squeeze(0)[0];
            var match = (from top in Enumerable.Range(0, 29)
                         from left in Enumerable.Range(0, 29)
                         where enlarged.narrow(0, top, 28).narrow(1, left, 28).equal(zoomed.Images[i][0]).all().item<bool>()
                         select (top, left)).ToList();
            Assert.NotEmpty(match);
            offsets.Add(match[0]);
        }
        Assert.True(offsets.Count >= 30, $"only {offsets.Count} distinct windows in 40 images");

        // At probability 0.5 with shifts and flips on: the images left alone are exactly those of a run without zoom.
        var shiftFlip = raw with { CropPadding = 2, HorizontalFlip = true };
        using var without = new DataLoader(data, 40, false, 0, shiftFlip, workers: 0).Epoch(0).First();
        using var half = new DataLoader(data, 40, false, 0, shiftFlip with { ZoomFactors = [2.0], ZoomProb = 0.5 }, workers: 0).Epoch(0).First();
        int same = Enumerable.Range(0, 40).Count(i => without.Images[i].equal(half.Images[i]).all().item<bool>());
        Assert.InRange(same, 10, 30);

        Assert.Throws<ArgumentException>(() => new DataLoader(data, 4, false, 0, raw with { ZoomFactors = [0.5], ZoomProb = 0.5 }, workers: 0).Epoch(0).First());
        Assert.Throws<ArgumentException>(() => new DataLoader(data, 4, false, 0, raw with { ZoomProb = 0.5 }, workers: 0).Epoch(0).First());
    }

    [Fact]
    public void Random_erasing_fills_one_box_with_noise()
    {
        var (plain, _, _) = Batch(new AugmentOptions(), seed: 2);
        var (erased, _, _) = Batch(new AugmentOptions { RandomErasing = 1.0 }, seed: 2);
        int boxes = 0;
        for (int i = 0; i < 10; i++)
        {
            var changed = Enumerable.Range(0, 256).Where(p => erased[i * 256 + p] != plain[i * 256 + p]).ToArray();
            if (changed.Length == 0) continue;
            boxes++;
            int top = changed.Min(p => p / 16), bottom = changed.Max(p => p / 16), left = changed.Min(p => p % 16), right = changed.Max(p => p % 16);
            double area = (bottom - top + 1) * (right - left + 1);
            Assert.InRange(area, 0.02 * 256 * 0.5, 256 / 3.0 * 1.5);
            Assert.Equal(changed.Length, (int)area);
        }
        Assert.True(boxes >= 8, $"only {boxes} of 10 images were erased");
    }

    [Fact]
    public void The_generator_is_a_function_of_its_key()
    {
        var a = CounterRng.For(5, 1, CounterRng.Purpose.Batch, 9);
        var b = CounterRng.For(5, 1, CounterRng.Purpose.Batch, 9);
        var c = CounterRng.For(5, 1, CounterRng.Purpose.Sample, 9);
        Assert.Equal(a.NextUInt64(), b.NextUInt64());
        Assert.NotEqual(a.NextUInt64(), c.NextUInt64());

        // Beta(0.8, 0.8) has mean 0.5 and variance 1 / (4 (2a + 1)) = 1/10.4; Gamma(0.5) mean 0.5.
        var rng = CounterRng.For(0, 0, CounterRng.Purpose.Batch, 0);
        var betas = Enumerable.Range(0, 20000).Select(_ => rng.Beta(0.8, 0.8)).ToArray();
        Assert.InRange(betas.Average(), 0.49, 0.51);
        Assert.InRange(betas.Select(x => (x - 0.5) * (x - 0.5)).Average(), 1 / 10.4 - 0.003, 1 / 10.4 + 0.003);
        Assert.InRange(Enumerable.Range(0, 20000).Select(_ => rng.Gamma(0.5)).Average(), 0.48, 0.52);
    }
}
