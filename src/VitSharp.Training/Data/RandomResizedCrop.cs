namespace VitSharp.Training.Data;

/// <summary>
/// torchvision's <c>RandomResizedCrop.get_params</c>: up to 10 tries of an area fraction uniform in [scaleMin, 1] and an
/// aspect ratio log-uniform in [ratioMin, ratioMax], rounded half to even like Python's <c>round</c>; a try that fits
/// gives a uniformly placed box; if none fits, the centre crop of the whole image clamped to the ratio range.
/// </summary>
internal static class RandomResizedCrop
{
    private const int Attempts = 10;

    public static CropBox Sample(ref CounterRng rng, int height, int width, double scaleMin, double ratioMin, double ratioMax)
    {
        double area = (double)height * width;
        double logMin = Math.Log(ratioMin), logMax = Math.Log(ratioMax);
        for (int attempt = 0; attempt < Attempts; attempt++)
        {
            double targetArea = area * rng.Uniform(scaleMin, 1.0);
            double ratio = Math.Exp(rng.Uniform(logMin, logMax));
            int w = (int)Math.Round(Math.Sqrt(targetArea * ratio), MidpointRounding.ToEven);
            int h = (int)Math.Round(Math.Sqrt(targetArea / ratio), MidpointRounding.ToEven);
            if (w > 0 && w <= width && h > 0 && h <= height)
                return new(rng.Next(0, height - h + 1), rng.Next(0, width - w + 1), h, w);
        }

        double inRatio = (double)width / height;
        int cropW = width, cropH = height;
        if (inRatio < ratioMin) cropH = (int)Math.Round(width / ratioMin, MidpointRounding.ToEven);
        else if (inRatio > ratioMax) cropW = (int)Math.Round(height * ratioMax, MidpointRounding.ToEven);
        return new((height - cropH) / 2, (width - cropW) / 2, cropH, cropW);
    }
}
