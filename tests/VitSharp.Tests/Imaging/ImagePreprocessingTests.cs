using SkiaSharp;
using VitSharp.Imaging;
using VitSharp.Models;
using VitSharp.PosEmbed;
using static TorchSharp.torch;

namespace VitSharp.Tests.Imaging;

/// <summary>Preset construction, sizes and batching (pixel parity is in <see cref="ImageParityTests"/>).</summary>
public class ImagePreprocessingTests
{
    private static readonly VitConfig B16 = new();

    [Fact]
    public void Presets_have_the_documented_filters_and_sizes()
    {
        Assert.Equal(["timm", "torchvision", "dino", "native", "resize"], ImagePreprocessing.PresetNames);
        var timm = ImagePreprocessing.ForModel("timm", B16);
        Assert.Equal(ResizeFilter.Bicubic, timm.Filter);
        Assert.StartsWith("Resize(256, bicubic) + CenterCrop((224, 224))", timm.Pipeline);
        Assert.Equal(ResizeFilter.Bilinear, ImagePreprocessing.ForModel("torchvision", B16).Filter);
        Assert.Equal(ResizeFilter.Bicubic, ImagePreprocessing.ForModel("dino", B16).Filter);
        Assert.Equal((224, 224), timm.OutputSize(640, 480));
        // 384 / 0.875 = 438.86: timm floors the scale size.
        Assert.StartsWith("Resize(438, bicubic)", ImagePreprocessing.ForModel("timm", B16 with { ImgSize = GridSize.Square(384) }).Pipeline);
        Assert.Equal((48, 32), ImagePreprocessing.ForModel("resize", B16 with { ImgSize = new GridSize(32, 48) }).OutputSize(640, 480));
    }

    [Fact]
    public void Non_square_timm_resizes_both_sides_then_crops()
    {
        var prep = ImagePreprocessing.ForModel("timm", B16 with { ImgSize = new GridSize(224, 448) });
        Assert.StartsWith("Resize((256, 512), bicubic) + CenterCrop((224, 448))", prep.Pipeline);
        Assert.Equal((448, 224), prep.OutputSize(100, 300));
    }

    [Theory]
    [InlineData(224, 224, 196, 224, 224)]
    [InlineData(640, 480, 196, 256, 192)]   // real grid 16.2 x 12.1 -> 16 x 12 = 192 patches
    [InlineData(480, 640, 64, 96, 144)]
    [InlineData(10000, 1, 196, 3136, 16)]   // one row: the budget goes to the columns
    [InlineData(1, 1, 64, 128, 128)]
    public void Native_keeps_the_aspect_ratio_within_the_token_budget(int w, int h, int budget, int outW, int outH)
    {
        var prep = ImagePreprocessing.ForModel("native", B16, budget);
        var size = prep.OutputSize(w, h);
        Assert.Equal((outW, outH), size);
        Assert.True(size.Width / 16 * (size.Height / 16) <= budget);
    }

    [Fact]
    public void Native_defaults_to_the_models_token_count()
    {
        Assert.Equal((224, 224), ImagePreprocessing.ForModel("native", B16).OutputSize(500, 500));
    }

    [Fact]
    public void Bad_arguments_are_refused()
    {
        Assert.Contains("unknown preprocessing preset 'pil'", Assert.Throws<ArgumentException>(() => ImagePreprocessing.ForModel("pil", B16)).Message);
        Assert.Throws<ArgumentException>(() => ImagePreprocessing.ForModel("timm", B16, 100));
        Assert.Throws<ArgumentException>(() => ImagePreprocessing.ForModel("native", B16, 0));
        Assert.Throws<ArgumentException>(() => ImagePreprocessing.ForModel("timm", B16 with { InChans = 4 }));
    }

    [Fact]
    public void Channels_and_normalisation_follow_in_chans()
    {
        var gray = ImagePreprocessing.ForModel("resize", B16 with { ImgSize = GridSize.Square(28), PatchSize = 14, InChans = 1 });
        Assert.Equal(1, gray.Channels);
        Assert.Equal([0.5f], gray.Mean);
        using var bitmap = Solid(10, 10, new SKColor(255, 255, 255));
        using var x = gray.Prepare(bitmap);
        Assert.Equal(new long[] { 1, 28, 28 }, x.shape);
        Assert.Equal(1f, x.max().item<float>(), 6);

        var rgb = ImagePreprocessing.ForModel("resize", B16 with { ImgSize = GridSize.Square(32) }) with { Mean = [0f, 0f, 0f], Std = [1f, 1f, 1f] };
        using var solid = Solid(7, 5, new SKColor(255, 0, 51));
        using var y = rgb.Prepare(solid);
        Assert.Equal(new long[] { 3, 32, 32 }, y.shape);
        Assert.Equal(new[] { 1f, 0f, 0.2f }, y[TensorIndex.Colon, 0, 0].data<float>().ToArray());
    }

    [Fact]
    public void Batches_stack_images_of_one_output_size()
    {
        var prep = ImagePreprocessing.ForModel("timm", B16);
        using var a = Solid(300, 200, SKColors.Red);
        using var b = Solid(200, 300, SKColors.Blue);
        using var batch = prep.PrepareBatch([a, b]);
        Assert.Equal(new long[] { 2, 3, 224, 224 }, batch.shape);
        using var second = prep.Prepare(b);
        Assert.Equal(0f, (batch[1] - second).abs().max().item<float>());

        var native = ImagePreprocessing.ForModel("native", B16);
        Assert.Contains("a batch needs one size", Assert.Throws<ArgumentException>(() => native.PrepareBatch([a, b])).Message);
        Assert.Throws<ArgumentException>(() => prep.PrepareBatch([]));
    }

    private static SKBitmap Solid(int w, int h, SKColor colour)
    {
        var bitmap = new SKBitmap(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        bitmap.Erase(colour);
        return bitmap;
    }
}
