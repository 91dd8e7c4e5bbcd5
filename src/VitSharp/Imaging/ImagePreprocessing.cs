using SkiaSharp;
using VitSharp.Models;
using static TorchSharp.torch;

namespace VitSharp.Imaging;

/// <summary>
/// Turns decoded images into normalised model inputs exactly as a PyTorch eval pipeline on PIL images does:
/// PIL <c>convert('RGB')</c> (or <c>'L'</c>), PIL resize, <c>CenterCrop</c>, <c>ToTensor</c>, <c>Normalize</c>.
/// Presets (see <see cref="PresetNames"/> and docs/imaging.md):
/// <list type="bullet">
/// <item><c>timm</c>: timm's eval transform, crop_pct 0.875: bicubic resize to <c>floor(size / 0.875)</c> (shorter side
/// for a square model, both sides otherwise), centre crop to the model size.</item>
/// <item><c>torchvision</c>: torchvision's <c>ImageClassification</c>: bilinear <c>Resize(floor(size / 0.875))</c> of the shorter
/// side, <c>CenterCrop(size)</c> (256 / 224 for a 224 model).</item>
/// <item><c>dino</c>: DINO's <c>eval_linear</c>: the same with bicubic (<c>interpolation=3</c>). DINO's
/// <c>visualize_attention</c> (a bilinear resize to a fixed size, no crop) is the <c>resize</c> preset.</item>
/// <item><c>native</c>: aspect ratio kept, both sides multiples of the patch, at most <c>maxTokens</c> patches, bicubic, no crop.</item>
/// <item><c>resize</c>: bilinear resize to the model's img_size, no crop (small models such as Fashion-MNIST ones).</item>
/// </list>
/// Mean and std are ImageNet's for 3 channels and 0.5 / 0.5 for 1; set <see cref="Mean"/> and <see cref="Std"/> with
/// <c>with</c> for models trained otherwise (e.g. timm's augreg ViTs use 0.5 / 0.5).
/// </summary>
public sealed record ImagePreprocessing
{
    /// <summary>Divides a model size by timm's and torchvision's default crop_pct of 0.875 (224 -> 256).</summary>
    private const double CropPct = 0.875;

    private static readonly float[] ImageNetMean = [0.485f, 0.456f, 0.406f];
    private static readonly float[] ImageNetStd = [0.229f, 0.224f, 0.225f];

    private readonly ResizePlan _plan;

    private ImagePreprocessing(string name, ResizeFilter filter, int channels, ResizePlan plan)
    {
        Name = name;
        Filter = filter;
        Channels = channels;
        _plan = plan;
        Mean = channels == 3 ? [.. ImageNetMean] : [0.5f];
        Std = channels == 3 ? [.. ImageNetStd] : [0.5f];
    }

    public static IReadOnlyList<string> PresetNames { get; } = ["timm", "torchvision", "dino", "native", "resize"];

    /// <summary>
    /// The preset <paramref name="preset"/> for a model: its img_size, patch size and in_chans.
    /// <paramref name="maxTokens"/> is the patch budget of <c>native</c> (default: the model's own grid); other presets refuse it.
    /// </summary>
    public static ImagePreprocessing ForModel(string preset, VitConfig config, int? maxTokens = null)
    {
        ArgumentNullException.ThrowIfNull(preset);
        ArgumentNullException.ThrowIfNull(config);
        if (config.InChans is not (1 or 3))
            throw new ArgumentException($"images can feed models with 1 or 3 input channels, not {config.InChans}");
        if (config.ImgSize.Width < 1 || config.ImgSize.Height < 1 || config.PatchSize < 1)
            throw new ArgumentException($"img_size {config.ImgSize} and patch_size {config.PatchSize} must be positive");
        if (maxTokens is not null && preset != "native")
            throw new ArgumentException($"a token budget applies to the 'native' preset only, not '{preset}'");
        if (maxTokens is < 1) throw new ArgumentException($"the token budget must be positive, got {maxTokens}");
        if (maxTokens > SizeLimits.MaxTokens)
            throw new ArgumentException($"the token budget {maxTokens:N0} is more than the limit of {SizeLimits.MaxTokens:N0} patches (set {SizeLimits.MaxTokensVariable} to raise it)");
        long pixels = (long)config.ImgSize.Height * config.ImgSize.Width;
        if (pixels > ImageLimits.Default.MaxPixels)
            throw new ArgumentException($"image size {config.ImgSize} is {pixels:N0} pixels, more than the limit of {ImageLimits.Default.MaxPixels:N0}");
        int w = config.ImgSize.Width, h = config.ImgSize.Height, side = Math.Max(w, h);
        int c = config.InChans;
        return preset switch
        {
            "timm" when w == h => new(preset, ResizeFilter.Bicubic, c, new ResizePlan.ShorterSideThenCrop(Scaled(side), w, h)),
            "timm" => new(preset, ResizeFilter.Bicubic, c, new ResizePlan.FixedThenCrop(Scaled(w), Scaled(h), w, h)),
            "torchvision" => new(preset, ResizeFilter.Bilinear, c, new ResizePlan.ShorterSideThenCrop(Scaled(side), w, h)),
            "dino" => new(preset, ResizeFilter.Bicubic, c, new ResizePlan.ShorterSideThenCrop(Scaled(side), w, h)),
            "native" => new(preset, ResizeFilter.Bicubic, c, new ResizePlan.NativeGrid(config.PatchSize, maxTokens ?? config.GridSize.Count)),
            "resize" => new(preset, ResizeFilter.Bilinear, c, new ResizePlan.FixedThenCrop(w, h, w, h)),
            _ => throw new ArgumentException($"unknown preprocessing preset '{preset}'; known: {string.Join(", ", PresetNames)}"),
        };
    }

    /// <summary>timm's <c>scale_size = math.floor(img_size / crop_pct)</c>.</summary>
    private static int Scaled(int size) => (int)Math.Floor(size / CropPct);

    public string Name { get; }
    public ResizeFilter Filter { get; init; }
    public float[] Mean { get; init; }
    public float[] Std { get; init; }

    /// <summary>1 (PIL <c>convert('L')</c>) or 3 (PIL <c>convert('RGB')</c>), from the model's in_chans.</summary>
    public int Channels { get; }

    /// <summary>The equivalent torchvision pipeline, for logs and docs.</summary>
    public string Pipeline => $"{_plan.Describe(Filter.ToString().ToLowerInvariant())} + ToTensor() + Normalize({Format(Mean)}, {Format(Std)})";

    /// <summary>The size of the tensor <see cref="Prepare"/> makes from an image of this size.</summary>
    public (int Width, int Height) OutputSize(int width, int height)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        var step = _plan.For(width, height);
        return (step.CropWidth, step.CropHeight);
    }

    /// <summary>The model input for one image: [C, H, W] float32, normalised. Alpha is dropped (PIL semantics), not composited.</summary>
    public Tensor Prepare(SKBitmap image)
    {
        ArgumentNullException.ThrowIfNull(image);
        var pixels = PreparePixels(image);
        return tensor(Normalise(pixels), [Channels, pixels.Height, pixels.Width]);
    }

    /// <summary>The inputs for several images: [B, C, H, W]; every image must give the same <see cref="OutputSize"/>.</summary>
    public Tensor PrepareBatch(IReadOnlyList<SKBitmap> images)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.Count == 0) throw new ArgumentException("a batch needs at least one image");
        var first = OutputSize(images[0].Width, images[0].Height);
        for (int i = 1; i < images.Count; i++)
        {
            var size = OutputSize(images[i].Width, images[i].Height);
            if (size != first)
                throw new ArgumentException($"image {i} ({images[i].Width}x{images[i].Height}) gives a {size.Width}x{size.Height} input, image 0 a {first.Width}x{first.Height} one; a batch needs one size");
        }
        int perImage = Channels * first.Width * first.Height;
        var data = new float[checked(perImage * images.Count)];
        for (int i = 0; i < images.Count; i++)
            Normalise(PreparePixels(images[i])).CopyTo(data, i * perImage);
        return tensor(data, [images.Count, Channels, first.Height, first.Width]);
    }

    /// <summary>The uint8 image just before <c>ToTensor</c>: converted, resized and cropped like PIL.</summary>
    internal PixelImage PreparePixels(SKBitmap image)
    {
        var step = _plan.For(image.Width, image.Height);
        var pixels = PilResampler.Resize(PixelImage.FromBitmap(image, Channels), step.Width, step.Height, Filter);
        return step.CropWidth == pixels.Width && step.CropHeight == pixels.Height
            ? pixels
            : pixels.Crop(step.Left, step.Top, step.CropWidth, step.CropHeight);
    }

    /// <summary><c>ToTensor</c> then <c>Normalize</c> in float32, channel-first, with torchvision's operation order.</summary>
    private float[] Normalise(PixelImage pixels)
    {
        if (Mean.Length != Channels || Std.Length != Channels)
            throw new InvalidOperationException($"mean and std need {Channels} values, got {Mean.Length} and {Std.Length}");
        int plane = pixels.Width * pixels.Height, c = Channels;
        var result = new float[plane * c];
        for (int ch = 0; ch < c; ch++)
        {
            float mean = Mean[ch], std = Std[ch];
            for (int i = 0; i < plane; i++)
                result[ch * plane + i] = (pixels.Data[i * c + ch] / 255f - mean) / std;
        }
        return result;
    }

    private static string Format(float[] values) =>
        $"[{string.Join(", ", values.Select(v => v.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture)))}]";
}
