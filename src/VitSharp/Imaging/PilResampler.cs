namespace VitSharp.Imaging;

/// <summary>
/// PIL's <c>Image.resize</c> with BILINEAR or BICUBIC on 8-bit images, reimplemented for exact parity with torchvision's
/// PIL pipelines: a separable convolution (horizontal pass, then vertical) whose filter support is scaled by the
/// downscale factor (antialiasing), weights normalised per output pixel and rounded to 22-bit fixed point, and each
/// pass rounded back to uint8. Upscaling uses the plain filter (support not shrunk).
/// </summary>
internal static class PilResampler
{
    /// <summary>PIL's fixed-point precision for 8-bit images: 32 bits minus 8 for the pixel and 2 for the sum's headroom.</summary>
    private const int PrecisionBits = 32 - 8 - 2;

    public static PixelImage Resize(PixelImage image, int width, int height, ResizeFilter filter)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        // PIL skips a pass whose size does not change; with these filters that pass would be the identity anyway.
        if (width != image.Width) image = Horizontal(image, width, Coefficients(image.Width, width, filter));
        if (height != image.Height) image = Vertical(image, height, Coefficients(image.Height, height, filter));
        return image;
    }

    /// <summary>For each output index: the first input index, the number of taps, and the fixed-point weights (padded to a common length).</summary>
    private sealed record Taps(int[] First, int[] Count, int[] Weights, int Stride);

    private static Taps Coefficients(int inSize, int outSize, ResizeFilter filter)
    {
        double baseSupport = filter == ResizeFilter.Bilinear ? 1.0 : 2.0;
        double scale = (double)inSize / outSize;
        double filterScale = Math.Max(scale, 1.0);
        double support = baseSupport * filterScale;
        int stride = (int)Math.Ceiling(support) * 2 + 1;

        var first = new int[outSize];
        var count = new int[outSize];
        var weights = new int[outSize * stride];
        var w = new double[stride];
        for (int o = 0; o < outSize; o++)
        {
            double center = (o + 0.5) * scale;
            // C's (int) cast truncates; both bounds are clamped to the image, so truncation of a negative lower bound is harmless.
            int lo = Math.Max((int)(center - support + 0.5), 0);
            int n = Math.Min((int)(center + support + 0.5), inSize) - lo;
            double sum = 0;
            for (int t = 0; t < n; t++)
            {
                w[t] = Kernel(filter, (t + lo - center + 0.5) / filterScale);
                sum += w[t];
            }
            for (int t = 0; t < n; t++)
            {
                double normalised = sum != 0 ? w[t] / sum : w[t];
                // Round half away from zero into fixed point, as PIL does.
                weights[o * stride + t] = (int)(normalised < 0 ? -0.5 + normalised * (1 << PrecisionBits) : 0.5 + normalised * (1 << PrecisionBits));
            }
            first[o] = lo;
            count[o] = n;
        }
        return new Taps(first, count, weights, stride);
    }

    private static double Kernel(ResizeFilter filter, double x)
    {
        x = Math.Abs(x);
        if (filter == ResizeFilter.Bilinear) return x < 1.0 ? 1.0 - x : 0.0;
        const double a = -0.5;
        if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
        if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
        return 0.0;
    }

    private static PixelImage Horizontal(PixelImage image, int width, Taps taps)
    {
        int c = image.Channels;
        var result = new PixelImage(width, image.Height, c);
        byte[] src = image.Data, dst = result.Data;
        for (int y = 0; y < image.Height; y++)
        {
            int rowIn = y * image.Width * c, rowOut = y * width * c;
            for (int x = 0; x < width; x++)
            {
                int k = x * taps.Stride, start = rowIn + taps.First[x] * c;
                for (int ch = 0; ch < c; ch++)
                {
                    int sum = 1 << (PrecisionBits - 1);
                    for (int t = 0; t < taps.Count[x]; t++) sum += src[start + t * c + ch] * taps.Weights[k + t];
                    dst[rowOut + x * c + ch] = Clip8(sum);
                }
            }
        }
        return result;
    }

    private static PixelImage Vertical(PixelImage image, int height, Taps taps)
    {
        int c = image.Channels, rowLength = image.Width * c;
        var result = new PixelImage(image.Width, height, c);
        byte[] src = image.Data, dst = result.Data;
        for (int y = 0; y < height; y++)
        {
            int k = y * taps.Stride, start = taps.First[y] * rowLength;
            for (int i = 0; i < rowLength; i++)
            {
                int sum = 1 << (PrecisionBits - 1);
                for (int t = 0; t < taps.Count[y]; t++) sum += src[start + t * rowLength + i] * taps.Weights[k + t];
                dst[y * rowLength + i] = Clip8(sum);
            }
        }
        return result;
    }

    private static byte Clip8(int sum) => (byte)Math.Clamp(sum >> PrecisionBits, 0, 255);
}
