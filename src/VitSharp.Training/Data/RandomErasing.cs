namespace VitSharp.Training.Data;

/// <summary>
/// timm's <c>RandomErasing</c> with its defaults (area 2%–1/3, aspect 0.3–1/0.3 log-uniform, one box, 10 tries) in mode
/// 'pixel': the box is filled with per-pixel, per-channel N(0, 1) noise. It runs after normalisation, where N(0, 1) is
/// the scale of the data, as in timm's pipeline.
/// </summary>
internal static class RandomErasing
{
    private const double MinArea = 0.02, MaxArea = 1 / 3.0, MinAspect = 0.3;
    private const int Attempts = 10;

    /// <summary>The box to erase in a height x width image, or null (no erasing this time, or no try fitted).</summary>
    public static CropBox? Sample(ref CounterRng rng, double probability, int height, int width)
    {
        if (rng.NextDouble() >= probability) return null;
        double area = (double)height * width;
        double logMin = Math.Log(MinAspect), logMax = -logMin;
        for (int attempt = 0; attempt < Attempts; attempt++)
        {
            double targetArea = rng.Uniform(MinArea, MaxArea) * area;
            double aspect = Math.Exp(rng.Uniform(logMin, logMax));
            int h = (int)Math.Round(Math.Sqrt(targetArea * aspect), MidpointRounding.ToEven);
            int w = (int)Math.Round(Math.Sqrt(targetArea / aspect), MidpointRounding.ToEven);
            // timm requires the box to be strictly smaller than the image and draws the corner with an inclusive randint.
            if (w < width && h < height)
                return new(rng.Next(0, height - h + 1), rng.Next(0, width - w + 1), h, w);
        }
        return null;
    }

    /// <summary>The noise for a box: channels x box, drawn from the same stream that placed it.</summary>
    public static float[] Noise(ref CounterRng rng, int channels, CropBox box)
    {
        var noise = new float[channels * box.Height * box.Width];
        for (int i = 0; i < noise.Length; i++) noise[i] = (float)rng.Normal();
        return noise;
    }
}
