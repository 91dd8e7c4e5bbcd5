using SkiaSharp;

namespace VitSharp.Imaging;

/// <summary>
/// Reads JPEG, PNG, WebP, BMP and GIF files into upright RGBA8888 unpremultiplied bitmaps (SkiaSharp decoders).
/// Every failure, including what the native decoder reports, becomes an <see cref="ImageLoadException"/> with one line.
/// </summary>
public static class ImageFile
{
    public static IReadOnlyList<string> Extensions { get; } = [".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif"];

    /// <summary>
    /// Decodes an image file: RGBA8888 with unpremultiplied alpha (so the colour channels are the stored ones), EXIF
    /// orientation applied, the first frame of an animation. The caller disposes the bitmap.
    /// </summary>
    public static SKBitmap Load(string path, ImageLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        limits ??= ImageLimits.Default;
        // Before anything opens it: a FIFO would block here forever, a device never end.
        if (IO.InputFile.Problem(path) is { } problem) throw new ImageLoadException(path, problem);
        FileInfo info = new(path);
        if (!info.Exists) throw new ImageLoadException(path, "the file does not exist");
        if (info.Length > limits.MaxFileBytes)
            throw new ImageLoadException(path, $"the file has {info.Length} bytes, more than the limit of {limits.MaxFileBytes}");
        try
        {
            using var stream = File.OpenRead(path);
            return Load(stream, path, limits);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException && e is not ImageLoadException)
        {
            throw new ImageLoadException(path, e.Message, e);
        }
    }

    /// <summary>Decodes an image from a stream, read to its end; <paramref name="name"/> names it in error messages.</summary>
    public static SKBitmap Load(Stream stream, string name, ImageLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(name);
        limits ??= ImageLimits.Default;
        byte[] bytes = ReadAll(stream, name, limits.MaxFileBytes);
        if (bytes.Length == 0) throw new ImageLoadException(name, "the file is empty");

        using var memory = new MemoryStream(bytes, writable: false);
        using var codec = SKCodec.Create(memory, out var created);
        if (codec is null)
            throw new ImageLoadException(name, $"not a supported image ({Describe(created)}; supported: {string.Join(' ', Extensions)})");

        var size = codec.Info;
        if (size.Width <= 0 || size.Height <= 0) throw new ImageLoadException(name, $"the header gives an empty size {size.Width}x{size.Height}");
        long pixels = (long)size.Width * size.Height;
        if (pixels > limits.MaxPixels)
            throw new ImageLoadException(name, $"{size.Width}x{size.Height} is {pixels} pixels, more than the limit of {limits.MaxPixels}");

        var bitmap = new SKBitmap(new SKImageInfo(size.Width, size.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        try
        {
            // Frame 0 of an animation; IncompleteInput (a truncated file) is an error, as it is for PIL.
            var result = codec.GetPixels(bitmap.Info, bitmap.GetPixels(), new SKCodecOptions(0));
            if (result != SKCodecResult.Success) throw new ImageLoadException(name, Describe(result));
            return ExifOrientation.Apply(bitmap, codec.EncodedOrigin);
        }
        catch
        {
            bitmap.Dispose();
            throw;
        }
    }

    private static byte[] ReadAll(Stream stream, string name, long maxBytes)
    {
        if (stream.CanSeek && stream.Length - stream.Position > maxBytes)
            throw new ImageLoadException(name, $"the file has {stream.Length - stream.Position} bytes, more than the limit of {maxBytes}");
        using var copy = new MemoryStream();
        var buffer = new byte[81920];
        int n;
        while ((n = stream.Read(buffer)) > 0)
        {
            if (copy.Length + n > maxBytes) throw new ImageLoadException(name, $"the stream has more than the limit of {maxBytes} bytes");
            copy.Write(buffer, 0, n);
        }
        return copy.ToArray();
    }

    private static string Describe(SKCodecResult result) => result switch
    {
        SKCodecResult.IncompleteInput => "the data is truncated",
        SKCodecResult.ErrorInInput => "the data is corrupt",
        SKCodecResult.InvalidInput => "the data is not a valid image",
        SKCodecResult.Unimplemented => "this variant of the format is not supported",
        SKCodecResult.CouldNotRewind => "the stream could not be rewound",
        SKCodecResult.InternalError => "the decoder failed",
        SKCodecResult.InvalidConversion => "the pixels cannot be converted to RGBA",
        SKCodecResult.InvalidScale => "the decoder refused the size",
        SKCodecResult.InvalidParameters => "the decoder refused the parameters",
        _ => $"the decoder reported {result}",
    };
}
