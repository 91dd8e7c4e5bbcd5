namespace VitSharp.Training.Data;

/// <summary>
/// timm's <c>Mixup</c> in mode 'batch' (mix_prob 1, correct_lam on): one lam ~ Beta(alpha, alpha) per batch; with both
/// alphas set, CutMix with probability <c>switchProb</c>. Each image is mixed with the image at the mirrored position of
/// the batch (<c>x.flip(0)</c>), and the targets with the same weights after label smoothing.
/// </summary>
internal readonly record struct BatchMix(double Lam, CropBox? CutBox)
{
    public static readonly BatchMix None = new(1.0, null);

    public static BatchMix Sample(ref CounterRng rng, AugmentOptions options, int height, int width)
    {
        bool mixup = options.Mixup > 0, cutmix = options.Cutmix > 0;
        if (!mixup && !cutmix) return None;
        bool useCutmix = cutmix && (!mixup || rng.NextDouble() < options.MixupSwitchProb);
        double alpha = useCutmix ? options.Cutmix : options.Mixup;
        double lam = rng.Beta(alpha, alpha);
        return useCutmix ? CutmixBox(ref rng, lam, height, width) : new(lam, null);
    }

    /// <summary>
    /// timm's <c>rand_bbox</c>: a box of sides int(side * sqrt(1 - lam)) centred at a uniform pixel, clipped to the image;
    /// lam is then corrected to the share of the image the box leaves unpasted, so targets match pixels.
    /// </summary>
    private static BatchMix CutmixBox(ref CounterRng rng, double lam, int height, int width)
    {
        double cut = Math.Sqrt(1 - lam);
        int cutH = (int)(height * cut), cutW = (int)(width * cut);
        int cy = rng.Next(0, height), cx = rng.Next(0, width);
        int top = Math.Clamp(cy - cutH / 2, 0, height), bottom = Math.Clamp(cy + cutH / 2, 0, height);
        int left = Math.Clamp(cx - cutW / 2, 0, width), right = Math.Clamp(cx + cutW / 2, 0, width);
        var box = new CropBox(top, left, bottom - top, right - left);
        return new(1.0 - (double)box.Height * box.Width / ((double)height * width), box);
    }

    /// <summary>Smoothed one-hot targets mixed with the flipped batch's: row i = lam * y[i] + (1 - lam) * y[B - 1 - i].</summary>
    public float[] Targets(int[] labels, int classes, double smoothing)
    {
        double off = smoothing / classes, on = 1.0 - smoothing + off;
        int b = labels.Length;
        var targets = new double[b * classes];
        for (int i = 0; i < b; i++)
        {
            int own = labels[i], mirrored = labels[b - 1 - i];
            for (int k = 0; k < classes; k++)
                targets[i * classes + k] = Lam * (k == own ? on : off) + (1 - Lam) * (k == mirrored ? on : off);
        }
        return Array.ConvertAll(targets, t => (float)t);
    }
}
