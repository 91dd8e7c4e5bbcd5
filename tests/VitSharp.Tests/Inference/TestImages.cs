using SkiaSharp;

namespace VitSharp.Tests.Inference;

/// <summary>Small image files made in the test: seeded random pixels, and the broken files a folder can hold.</summary>
internal static class TestImages
{
    public static string Png(string folder, string name, int width, int height, int seed) =>
        Encoded(folder, name, width, height, seed, SKEncodedImageFormat.Png);

    public static string Jpeg(string folder, string name, int width, int height, int seed) =>
        Encoded(folder, name, width, height, seed, SKEncodedImageFormat.Jpeg);

    public static SKBitmap Bitmap(int width, int height, int seed)
    {
        var random = new Random(seed);
        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                bitmap.SetPixel(x, y, new SKColor((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256)));
        return bitmap;
    }

    /// <summary>A good folder plus a truncated JPEG, a zero-byte file and a text file named .png.</summary>
    public static (string[] Good, string[] Bad) MixedFolder(string folder)
    {
        Directory.CreateDirectory(Path.Combine(folder, "sub"));
        string[] good =
        [
            Png(folder, "a.png", 40, 30, 1),
            Png(folder, "c.png", 32, 32, 2),
            Jpeg(folder, Path.Combine("sub", "d.jpg"), 48, 64, 3),
        ];
        string truncated = Path.Combine(folder, "b_truncated.jpg");
        byte[] jpeg = File.ReadAllBytes(good[2]);
        File.WriteAllBytes(truncated, jpeg[..(jpeg.Length / 3)]);
        string empty = Path.Combine(folder, "empty.png");
        File.WriteAllBytes(empty, []);
        string text = Path.Combine(folder, "notes.png");
        File.WriteAllText(text, "not an image\n");
        return (good, [truncated, empty, text]);
    }

    private static string Encoded(string folder, string name, int width, int height, int seed, SKEncodedImageFormat format)
    {
        string path = Path.Combine(folder, name);
        using var bitmap = Bitmap(width, height, seed);
        using var data = bitmap.Encode(format, 95);
        File.WriteAllBytes(path, data.ToArray());
        return path;
    }
}
