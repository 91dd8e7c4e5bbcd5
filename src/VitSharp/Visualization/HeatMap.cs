using SkiaSharp;
using static TorchSharp.torch;

namespace VitSharp.Visualization;

/// <summary>Renders a 2-D array of values (rows first, as a patch grid) as a coloured picture of any size.</summary>
public static class HeatMap
{
    /// <summary>
    /// A <paramref name="width"/> × <paramref name="height"/> RGBA picture of <paramref name="values"/> [rows, columns]
    /// coloured by <paramref name="colormap"/> (default viridis) over <paramref name="range"/> (default: the values' own
    /// minimum to maximum).
    /// </summary>
    public static SKBitmap Render(float[,] values, int width, int height, Colormap? colormap = null,
        HeatMapUpscaling upscaling = HeatMapUpscaling.Nearest, ValueRange? range = null)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.GetLength(0) == 0 || values.GetLength(1) == 0) throw new ArgumentException("a heat map needs at least one value", nameof(values));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        colormap ??= Colormap.Viridis;
        var scale = range ?? ValueRange.Of(values);

        var pixels = new SKColor[checked(width * height)];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                pixels[y * width + x] = colormap.Map(scale.Normalize(Sample(values, x, y, width, height, upscaling)));

        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        bitmap.Pixels = pixels;
        return bitmap;
    }

    /// <summary>The values of a 2-D tensor [rows, columns] of any float type and device, as an array.</summary>
    public static float[,] ToArray(Tensor values)
    {
        if (values.ndim != 2) throw new ArgumentException($"a heat map takes a 2-D tensor [rows, columns], got {values.ndim}-D", nameof(values));
        int rows = checked((int)values.shape[0]), columns = checked((int)values.shape[1]);
        using var flat = values.detach().to(ScalarType.Float32).cpu().contiguous();
        var data = flat.data<float>().ToArray();
        var result = new float[rows, columns];
        Buffer.BlockCopy(data, 0, result, 0, data.Length * sizeof(float));
        return result;
    }

    private static float Sample(float[,] values, int x, int y, int width, int height, HeatMapUpscaling upscaling)
    {
        int rows = values.GetLength(0), columns = values.GetLength(1);
        if (upscaling == HeatMapUpscaling.Nearest)
            return values[Math.Min(rows - 1, (int)((long)y * rows / height)), Math.Min(columns - 1, (int)((long)x * columns / width))];

        // Pixel centres mapped onto cell centres; the border half-cells hold the edge value (PyTorch align_corners=False).
        float sy = Math.Max(0, (y + 0.5f) * rows / height - 0.5f), sx = Math.Max(0, (x + 0.5f) * columns / width - 0.5f);
        int y0 = Math.Min((int)sy, rows - 1), x0 = Math.Min((int)sx, columns - 1);
        int y1 = Math.Min(y0 + 1, rows - 1), x1 = Math.Min(x0 + 1, columns - 1);
        float fy = sy - y0, fx = sx - x0;
        float top = values[y0, x0] + (values[y0, x1] - values[y0, x0]) * fx;
        float bottom = values[y1, x0] + (values[y1, x1] - values[y1, x0]) * fx;
        return top + (bottom - top) * fy;
    }
}
