namespace VitSharp.Training.Data;

/// <summary>
/// Training augmentation, timm's names and defaults. Per image, in this order: RandomResizedCrop (or a plain resize to
/// <see cref="OutputSize"/>), zoom-in crop, padded random crop, horizontal flip, normalise, random erasing; per batch: Mixup or CutMix and label smoothing.
/// The default options do nothing but normalise with 0.5 / 0.5.
/// </summary>
public sealed record AugmentOptions
{
    /// <summary>torchvision's <c>RandomResizedCrop</c> to <see cref="OutputSize"/>, with scale (<see cref="ScaleMin"/>, 1) and log-uniform aspect ratio.</summary>
    public bool RandomResizedCrop { get; init; }
    public double ScaleMin { get; init; } = 0.08;
    public double RatioMin { get; init; } = 3 / 4.0;
    public double RatioMax { get; init; } = 4 / 3.0;

    /// <summary>
    /// torchvision's <c>RandomCrop(size, padding=p)</c> after the resize: pad every side with <see cref="CropPadding"/>
    /// zero pixels and crop the output size back at a uniform offset, i.e. a random shift of up to p pixels each way
    /// (the classic CIFAR / Fashion-MNIST augmentation, gentler than RandomResizedCrop on small centred images); 0 = off.
    /// </summary>
    public int CropPadding { get; init; }

    /// <summary>
    /// Zoom-in crops: with probability <see cref="ZoomProb"/> the image (after the crop-and-resize step) is enlarged by one
    /// of these factors, chosen uniformly, with the same bilinear resize the evaluation uses for other sizes, and a window
    /// of the output size is cut from it at a uniform offset. The model then sees, at its training grid and cost, the local
    /// statistics of an image enlarged by that factor: what a convolutional stem meets when the model is run at that
    /// multiple of its size. Factors must be at least 1. Empty = off.
    /// </summary>
    public IReadOnlyList<double> ZoomFactors { get; init; } = [];

    /// <summary>The probability that an image is zoomed by one of <see cref="ZoomFactors"/>.</summary>
    public double ZoomProb { get; init; }

    /// <summary>Mirror left-right with probability 0.5.</summary>
    public bool HorizontalFlip { get; init; }

    /// <summary>The probability of timm's <c>RandomErasing</c> (mode 'pixel': one box of per-pixel N(0, 1) noise, after normalising); 0 = off.</summary>
    public double RandomErasing { get; init; }

    /// <summary>Mixup's alpha (lam ~ Beta(alpha, alpha)); 0 = off.</summary>
    public double Mixup { get; init; }

    /// <summary>CutMix's alpha; 0 = off.</summary>
    public double Cutmix { get; init; }

    /// <summary>With both Mixup and CutMix on, the probability that a batch uses CutMix.</summary>
    public double MixupSwitchProb { get; init; } = 0.5;

    /// <summary>Label smoothing of the targets: on = 1 - s + s/K, off = s/K.</summary>
    public double LabelSmoothing { get; init; }

    /// <summary>The size of the images in a batch; null = the dataset's <see cref="IImageDataset.ImageSize"/>.</summary>
    public (int Height, int Width)? OutputSize { get; init; }

    /// <summary>
    /// Multi-resolution training: with probability <see cref="MultiResolutionProb"/> a whole batch is resized (bilinear, as
    /// the evaluation resizes) to one of these sizes, chosen uniformly. The model then learns every grid it will be run on,
    /// through its resampled position table, instead of meeting them first at test time. Empty = off.
    /// </summary>
    public IReadOnlyList<(int Height, int Width)> MultiResolutions { get; init; } = [];

    /// <summary>The probability that a batch is resized to one of <see cref="MultiResolutions"/>.</summary>
    public double MultiResolutionProb { get; init; }

    /// <summary>
    /// A resized batch keeps only its first ⌊B·H0·W0 / (H·W)⌋ images (at least 1), the pixels (and patch tokens) of one
    /// batch at the base size, as NaViT packs a fixed token budget. The steps stay even: on the Fashion-MNIST hybrid a
    /// 56×56 step cost 1.3 base steps this way instead of 4.3, though each 56×56 image costs no less (13.5 ms against
    /// 11.2 ms on 2 cores). The images left out are seen in other epochs.
    /// </summary>
    public bool MultiResolutionSamePixels { get; init; }

    /// <summary>
    /// The first epoch (0-based) whose batches may be resized; earlier epochs are exactly those of a run without
    /// multi-resolution batches, so a late start can branch from such a run's checkpoint. (Measured on the Fashion-MNIST
    /// hybrid: a late start teaches the second size less than the same number of resized batches from the first epoch.)
    /// </summary>
    public int MultiResolutionFromEpoch { get; init; }

    /// <summary>Per-channel mean of <c>Normalize</c>; a single value applies to every channel.</summary>
    public float[] Mean { get; init; } = [0.5f];

    /// <summary>Per-channel std of <c>Normalize</c>; a single value applies to every channel.</summary>
    public float[] Std { get; init; } = [0.5f];
}
