using SkiaSharp;
using VitSharp.IO;

namespace VitSharp.Visualization;

/// <summary>Writes pictures and the small reports beside them so that a reader never sees a half-written file.</summary>
public static class OutputFile
{
    /// <summary>Encodes <paramref name="bitmap"/> as PNG into <paramref name="path"/>, atomically (temporary file, then rename).</summary>
    public static void WritePng(SKBitmap bitmap, string path)
    {
        ArgumentNullException.ThrowIfNull(bitmap);
        using var image = SKImage.FromBitmap(bitmap);
        using var png = image.Encode(SKEncodedImageFormat.Png, 100)
            ?? throw new InvalidOperationException($"could not encode a {bitmap.Width}x{bitmap.Height} {bitmap.ColorType} picture as PNG");
        WriteBytes(path, png.AsSpan());
    }

    /// <summary>Writes already encoded bytes (a plot's PNG) atomically.</summary>
    public static void WriteBytes(string path, ReadOnlySpan<byte> bytes)
    {
        var copy = bytes.ToArray();
        AtomicFile.Write(path, stream => stream.Write(copy));
    }

    /// <summary>Writes a text report (JSON, CSV) as UTF-8 without a byte-order mark, atomically.</summary>
    public static void WriteText(string path, string text) => WriteBytes(path, new System.Text.UTF8Encoding(false).GetBytes(text));
}
