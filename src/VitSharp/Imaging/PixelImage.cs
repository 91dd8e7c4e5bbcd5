using SkiaSharp;

namespace VitSharp.Imaging;

/// <summary>
/// An 8-bit image with 1 (PIL mode 'L') or 3 (PIL mode 'RGB') interleaved channels: the form in which PIL resizes and
/// crops, so that rounding to uint8 happens at the same steps as in a torchvision pipeline.
/// </summary>
internal sealed class PixelImage
{
    public PixelImage(int width, int height, int channels)
    {
        Width = width;
        Height = height;
        Channels = channels;
        Data = new byte[checked(width * height * channels)];
    }

    public int Width { get; }
    public int Height { get; }
    public int Channels { get; }
    public byte[] Data { get; }

    /// <summary>
    /// PIL's <c>convert('RGB')</c> or <c>convert('L')</c> of an RGBA bitmap. Alpha is dropped, not composited: PIL keeps
    /// the stored colour of transparent pixels, and so must we to give the same tensor.
    /// </summary>
    public static PixelImage FromBitmap(SKBitmap bitmap, int channels)
    {
        using var rgba = AsRgbaUnpremul(bitmap);
        var image = new PixelImage(rgba.Width, rgba.Height, channels);
        var src = rgba.GetPixelSpan();
        int rowBytes = rgba.RowBytes, i = 0;
        for (int y = 0; y < rgba.Height; y++)
        {
            var row = src.Slice(y * rowBytes, rgba.Width * 4);
            for (int x = 0; x < row.Length; x += 4)
            {
                if (channels == 3)
                {
                    image.Data[i++] = row[x];
                    image.Data[i++] = row[x + 1];
                    image.Data[i++] = row[x + 2];
                }
                else
                {
                    // PIL's ITU-R 601-2 luma in 16-bit fixed point with rounding (L = R*299/1000 + G*587/1000 + B*114/1000).
                    image.Data[i++] = (byte)((row[x] * 19595 + row[x + 1] * 38470 + row[x + 2] * 7471 + 0x8000) >> 16);
                }
            }
        }
        return image;
    }

    /// <summary>The <paramref name="width"/> × <paramref name="height"/> region at (<paramref name="left"/>, <paramref name="top"/>); it must lie inside.</summary>
    public PixelImage Crop(int left, int top, int width, int height)
    {
        if (left < 0 || top < 0 || left + width > Width || top + height > Height)
            throw new ArgumentOutOfRangeException(nameof(left), $"crop {width}x{height} at ({left}, {top}) is outside the {Width}x{Height} image");
        var crop = new PixelImage(width, height, Channels);
        int rowLength = width * Channels;
        for (int y = 0; y < height; y++)
            Array.Copy(Data, ((top + y) * Width + left) * Channels, crop.Data, y * rowLength, rowLength);
        return crop;
    }

    /// <summary>A copy in RGBA8888 unpremultiplied (a plain copy when the bitmap is that already, as <see cref="ImageFile"/> makes them).</summary>
    private static SKBitmap AsRgbaUnpremul(SKBitmap bitmap)
    {
        var info = new SKImageInfo(bitmap.Width, bitmap.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var copy = new SKBitmap(info);
        using var source = bitmap.PeekPixels();
        if (source is null || !source.ReadPixels(info, copy.GetPixels(), copy.RowBytes))
        {
            copy.Dispose();
            throw new ArgumentException($"cannot convert a {bitmap.ColorType} {bitmap.AlphaType} bitmap to RGBA");
        }
        return copy;
    }
}
