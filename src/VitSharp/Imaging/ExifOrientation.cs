using SkiaSharp;

namespace VitSharp.Imaging;

/// <summary>
/// Turns a decoded bitmap upright from its EXIF orientation, as PIL's <c>ImageOps.exif_transpose</c> does:
/// the stored pixels are remapped so that the result needs no further rotation or mirroring.
/// </summary>
internal static class ExifOrientation
{
    /// <summary>The upright bitmap: <paramref name="stored"/> itself when the origin is top-left, else a new one (the input is disposed).</summary>
    public static SKBitmap Apply(SKBitmap stored, SKEncodedOrigin origin)
    {
        if (origin == SKEncodedOrigin.TopLeft) return stored;
        int w = stored.Width, h = stored.Height;
        bool swaps = origin is SKEncodedOrigin.LeftTop or SKEncodedOrigin.RightTop or SKEncodedOrigin.RightBottom or SKEncodedOrigin.LeftBottom;
        int outW = swaps ? h : w, outH = swaps ? w : h;
        var upright = new SKBitmap(new SKImageInfo(outW, outH, stored.ColorType, stored.AlphaType));
        int bpp = stored.BytesPerPixel;
        var src = stored.GetPixelSpan();
        var dst = upright.GetPixelSpan();
        int srcRow = stored.RowBytes, dstRow = upright.RowBytes;
        for (int y = 0; y < outH; y++)
        {
            for (int x = 0; x < outW; x++)
            {
                // (sx, sy): the stored pixel that is displayed at (x, y) under this orientation.
                var (sx, sy) = origin switch
                {
                    SKEncodedOrigin.TopRight => (w - 1 - x, y),
                    SKEncodedOrigin.BottomRight => (w - 1 - x, h - 1 - y),
                    SKEncodedOrigin.BottomLeft => (x, h - 1 - y),
                    SKEncodedOrigin.LeftTop => (y, x),
                    SKEncodedOrigin.RightTop => (y, h - 1 - x),
                    SKEncodedOrigin.RightBottom => (w - 1 - y, h - 1 - x),
                    SKEncodedOrigin.LeftBottom => (w - 1 - y, x),
                    _ => (x, y),
                };
                src.Slice(sy * srcRow + sx * bpp, bpp).CopyTo(dst.Slice(y * dstRow + x * bpp, bpp));
            }
        }
        stored.Dispose();
        return upright;
    }
}
