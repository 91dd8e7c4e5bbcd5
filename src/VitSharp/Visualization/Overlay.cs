using SkiaSharp;

namespace VitSharp.Visualization;

/// <summary>Lays a picture (a heat map, a mask) over an image of the same size.</summary>
public static class Overlay
{
    /// <summary>
    /// A new opaque RGBA image: <c>(1 - alpha) · image + alpha · layer</c> per channel. Where <paramref name="mask"/>
    /// is given, only pixels it marks get the layer (DINO's masks show the image elsewhere).
    /// </summary>
    public static SKBitmap Blend(SKBitmap image, SKBitmap layer, float alpha, bool[,]? mask = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(layer);
        if (image.Width != layer.Width || image.Height != layer.Height)
            throw new ArgumentException($"the layer is {layer.Width}x{layer.Height} pixels, the image {image.Width}x{image.Height}");
        if (alpha is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "alpha must be in [0, 1]");

        var under = image.Pixels;
        var over = layer.Pixels;
        var result = new SKColor[under.Length];
        int width = image.Width, height = image.Height;
        for (int i = 0; i < result.Length; i++)
        {
            bool covered = mask is null || MaskAt(mask, i % width, i / width, width, height);
            float a = covered ? alpha : 0;
            result[i] = new SKColor(Mix(under[i].Red, over[i].Red, a), Mix(under[i].Green, over[i].Green, a), Mix(under[i].Blue, over[i].Blue, a));
        }
        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        bitmap.Pixels = result;
        return bitmap;
    }

    /// <summary>The mask cell under a pixel, nearest-neighbour, so a patch mask covers its whole patch.</summary>
    private static bool MaskAt(bool[,] mask, int x, int y, int width, int height) =>
        mask[(int)((long)y * mask.GetLength(0) / height), (int)((long)x * mask.GetLength(1) / width)];

    private static byte Mix(byte under, byte over, float alpha) => (byte)MathF.Round(under + (over - under) * alpha);
}
