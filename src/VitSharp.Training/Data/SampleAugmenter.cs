using TorchSharp;
using static TorchSharp.torch;

namespace VitSharp.Training.Data;

/// <summary>
/// The per-image part of <see cref="AugmentOptions"/>: crop and resize, flip, normalise, erase. Every random choice for
/// image <c>index</c> comes from the stream of (seed, epoch, index), so an image is augmented the same way in whatever
/// batch, thread or run it lands.
/// Resizing is <c>interpolate</c> bilinear with align_corners false and no antialiasing: what torchvision's
/// <c>RandomResizedCrop</c> does to a tensor (its <c>antialias</c> default was False for tensors before 0.17), not the
/// PIL-antialiased resize of an image pipeline.
/// </summary>
internal sealed class SampleAugmenter
{
    private readonly AugmentOptions _options;
    private readonly int _seed;
    private readonly int _channels;
    private readonly (int Height, int Width) _input;
    private readonly float[] _mean;
    private readonly float[] _std;

    public SampleAugmenter(AugmentOptions options, int seed, int channels, (int Height, int Width) input)
    {
        _options = options;
        _seed = seed;
        _channels = channels;
        _input = input;
        Output = options.OutputSize ?? input;
        if (Output.Height < 1 || Output.Width < 1) throw new ArgumentException($"output size {Output} must be positive");
        _mean = PerChannel(options.Mean, nameof(options.Mean));
        _std = PerChannel(options.Std, nameof(options.Std));
        if (options.RandomResizedCrop && !(options.ScaleMin > 0 && options.ScaleMin <= 1 && options.RatioMin > 0 && options.RatioMin <= options.RatioMax))
            throw new ArgumentException($"RandomResizedCrop needs 0 < ScaleMin <= 1 and 0 < RatioMin <= RatioMax, got {options.ScaleMin}, {options.RatioMin}, {options.RatioMax}");
        if (options.ZoomProb is < 0 or > 1 || options.ZoomProb > 0 && options.ZoomFactors.Count == 0)
            throw new ArgumentException($"ZoomProb must be in [0, 1] and needs ZoomFactors, got {options.ZoomProb} with {options.ZoomFactors.Count} factors");
        foreach (double factor in options.ZoomFactors)
            if (!(factor >= 1 && factor <= 16)) throw new ArgumentException($"zoom factors must be between 1 and 16, got {factor}");
        if (options.CropPadding < 0) throw new ArgumentException($"CropPadding must be 0 or more, got {options.CropPadding}");
    }

    public (int Height, int Width) Output { get; }

    /// <summary>Image [C, H, W] in [0, 1] → [C, Output.Height, Output.Width] augmented and normalised. Tensors made here belong to the caller's dispose scope.</summary>
    public Tensor Apply(Tensor image, int epoch, int index)
    {
        var rng = CounterRng.For(_seed, epoch, CounterRng.Purpose.Sample, index);
        if (_options.RandomResizedCrop)
        {
            var box = RandomResizedCrop.Sample(ref rng, _input.Height, _input.Width, _options.ScaleMin, _options.RatioMin, _options.RatioMax);
            image = Resize(image.narrow(1, box.Top, box.Height).narrow(2, box.Left, box.Width));
        }
        else if (Output != _input)
        {
            image = Resize(image);
        }
        if (_options.ZoomProb > 0) image = ZoomIn(image, epoch, index);
        if (_options.CropPadding > 0) image = PaddedRandomCrop(image, ref rng);
        if (_options.HorizontalFlip && rng.NextDouble() < 0.5) image = image.flip(2);
        image = (image - tensor(_mean).view(_channels, 1, 1)) / tensor(_std).view(_channels, 1, 1);
        if (_options.RandomErasing > 0 && RandomErasing.Sample(ref rng, _options.RandomErasing, Output.Height, Output.Width) is { } erase)
        {
            // Normalising made a fresh tensor, so writing into it cannot touch the dataset's image.
            var noise = tensor(RandomErasing.Noise(ref rng, _channels, erase), [_channels, erase.Height, erase.Width]);
            image.narrow(1, erase.Top, erase.Height).narrow(2, erase.Left, erase.Width).copy_(noise);
        }
        return image;
    }

    /// <summary>
    /// The zoom-in crop of <see cref="AugmentOptions.ZoomFactors"/>. Its draws come from their own stream, so turning it on
    /// changes no other random choice of the image.
    /// </summary>
    private Tensor ZoomIn(Tensor image, int epoch, int index)
    {
        var rng = CounterRng.For(_seed, epoch, CounterRng.Purpose.Zoom, index);
        if (rng.NextDouble() >= _options.ZoomProb) return image;
        double factor = _options.ZoomFactors[rng.Next(0, _options.ZoomFactors.Count)];
        int height = (int)Math.Round(Output.Height * factor), width = (int)Math.Round(Output.Width * factor);
        var enlarged = ResizeBatch(image.unsqueeze(0), height, width).squeeze(0);
        int top = rng.Next(0, height - Output.Height + 1), left = rng.Next(0, width - Output.Width + 1);
        return enlarged.narrow(1, top, Output.Height).narrow(2, left, Output.Width);
    }

    /// <summary>torchvision's RandomCrop with zero padding: top and left uniform in [0, 2p], drawn top first as its get_params does.</summary>
    private Tensor PaddedRandomCrop(Tensor image, ref CounterRng rng)
    {
        int p = _options.CropPadding;
        int top = rng.Next(0, 2 * p + 1), left = rng.Next(0, 2 * p + 1);
        var padded = nn.functional.pad(image, [p, p, p, p], PaddingModes.Constant, 0.0);
        return padded.narrow(1, top, Output.Height).narrow(2, left, Output.Width);
    }

    private Tensor Resize(Tensor image) => ResizeBatch(image.unsqueeze(0), Output.Height, Output.Width).squeeze(0);

    /// <summary>
    /// The one resize of the training and evaluation pipelines, for a batch [B, C, H, W]: bilinear, align_corners false, no
    /// antialias (torchvision's tensor resize before 0.17). Multi-resolution batches use it too, so they match <c>eval --size</c>.
    /// </summary>
    internal static Tensor ResizeBatch(Tensor batch, int height, int width) =>
        nn.functional.interpolate(batch, size: [height, width], mode: InterpolationMode.Bilinear, align_corners: false);

    private float[] PerChannel(float[] values, string name)
    {
        if (values.Length == 1) return [.. Enumerable.Repeat(values[0], _channels)];
        if (values.Length == _channels) return values;
        throw new ArgumentException($"{name} needs 1 or {_channels} values, got {values.Length}");
    }
}
