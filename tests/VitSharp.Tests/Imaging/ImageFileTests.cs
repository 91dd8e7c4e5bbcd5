using SkiaSharp;
using VitSharp.Imaging;

namespace VitSharp.Tests.Imaging;

/// <summary>Decoding: formats, orientation, alpha, and every way a file can be bad.</summary>
public class ImageFileTests
{
    private static string Image(string name) => Fixtures.Path_("images", name);

    private static ImageLoadException Refused(string path, ImageLimits? limits = null)
    {
        var e = Assert.Throws<ImageLoadException>(() => ImageFile.Load(path, limits));
        Assert.StartsWith($"Cannot read image '{path}': ", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        return e;
    }

    [Theory]
    [InlineData("truncated.jpg", "truncated")]
    [InlineData("empty.jpg", "empty")]
    [InlineData("notanimage.png", "not a supported image")]
    public void Bad_files_give_one_line(string file, string problem)
    {
        var e = Refused(Image(file));
        Assert.Contains(problem, e.Problem);
    }

    [Fact]
    public void Every_bad_file_of_the_fixtures_is_tested()
    {
        var bad = Fixtures.Json("images", "manifest.json")["bad"]!.AsArray().Select(b => b!["file"]!.GetValue<string>());
        Assert.Equal(["truncated.jpg", "empty.jpg", "notanimage.png"], bad);
    }

    [Fact]
    public void A_missing_file_is_an_image_load_exception()
    {
        var e = Refused(Path.Combine(Fixtures.Dir, "images", "no-such-file.png"));
        Assert.Contains("does not exist", e.Problem);
    }

    [Fact]
    public void Pixel_limit_is_checked_from_the_header()
    {
        var e = Refused(Image("chelsea.png"), new ImageLimits { MaxPixels = 100 });
        Assert.Contains("more than the limit of 100", e.Problem);
        using var tiny = ImageFile.Load(Image("tiny1x1.png"), new ImageLimits { MaxPixels = 1 });
        Assert.Equal(1, tiny.Width);
    }

    [Fact]
    public void File_size_limit_applies_to_paths_and_streams()
    {
        Assert.Contains("bytes", Refused(Image("chelsea.png"), new ImageLimits { MaxFileBytes = 1000 }).Problem);
        using var unseekable = new UnseekableStream(File.ReadAllBytes(Image("chelsea.png")));
        var e = Assert.Throws<ImageLoadException>(() => ImageFile.Load(unseekable, "upload", new ImageLimits { MaxFileBytes = 1000 }));
        Assert.StartsWith("Cannot read image 'upload': ", e.Message);
    }

    [Fact]
    public void Streams_decode_like_files()
    {
        using var fromFile = ImageFile.Load(Image("rocket.jpg"));
        using var stream = new UnseekableStream(File.ReadAllBytes(Image("rocket.jpg")));
        using var fromStream = ImageFile.Load(stream, "rocket");
        Assert.Equal(fromFile.GetPixelSpan().ToArray(), fromStream.GetPixelSpan().ToArray());
    }

    [Fact]
    public void Bitmaps_are_rgba_unpremultiplied_with_the_stored_colour_of_transparent_pixels()
    {
        using var bitmap = ImageFile.Load(Image("rgba.png"));
        Assert.Equal(SKColorType.Rgba8888, bitmap.ColorType);
        Assert.Equal(SKAlphaType.Unpremul, bitmap.AlphaType);
        // The generator paints a fully transparent block (250, 20, 30, alpha 0) at rows and columns 10..39.
        var pixel = bitmap.GetPixelSpan().Slice(20 * bitmap.RowBytes + 20 * 4, 4).ToArray();
        Assert.Equal(new byte[] { 250, 20, 30, 0 }, pixel);
    }

    [Theory]
    [InlineData("exif6.jpg", 120, 180)]
    [InlineData("exif3.jpg", 120, 180)]
    [InlineData("rocket.jpg", 320, 214)]
    public void Exif_orientation_is_applied(string file, int width, int height)
    {
        using var bitmap = ImageFile.Load(Image(file));
        Assert.Equal((width, height), (bitmap.Width, bitmap.Height));
    }

    [Fact]
    public void Extensions_are_the_supported_formats()
    {
        Assert.Equal([".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif"], ImageFile.Extensions);
    }

    /// <summary>A network-like stream: no length, no seeking.</summary>
    private sealed class UnseekableStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
    }
}
