using TorchSharp;
using VitSharp.PosEmbed;
using static TorchSharp.torch;

namespace VitSharp.Modules;

/// <summary>
/// Turns an image <c>[B, C, H, W]</c> into patch tokens <c>[B, (H/p)·(W/p), D]</c>, row-major over the grid.
/// An image whose sides are not multiples of the patch size is refused with a clear error, unless dynamic
/// padding is on (timm's <c>dynamic_img_pad</c>: zeros on the bottom and right up to the next multiple).
/// </summary>
public abstract class PatchEmbedding : nn.Module<Tensor, Tensor>
{
    protected PatchEmbedding(string name, int inChans, int patchSize, bool dynamicPad) : base(name)
    {
        if (patchSize <= 0) throw new ArgumentOutOfRangeException(nameof(patchSize), "patch size must be positive");
        InChans = inChans;
        PatchSize = patchSize;
        DynamicPad = dynamicPad;
    }

    public int InChans { get; }
    public int PatchSize { get; }
    public bool DynamicPad { get; }

    /// <summary>The patch grid an image of this size produces.</summary>
    public GridSize GridFor(GridSize image)
    {
        var grid = DynamicPad
            ? new GridSize((image.Height + PatchSize - 1) / PatchSize, (image.Width + PatchSize - 1) / PatchSize)
            : FixedGridFor(image);
        SizeLimits.CheckGrid(grid, "input size", image);
        return grid;
    }

    private GridSize FixedGridFor(GridSize image)
    {
        if (image.Height < PatchSize || image.Width < PatchSize)
            throw new ArgumentException($"input size {image} is smaller than one {PatchSize}x{PatchSize} patch");
        if (image.Height % PatchSize != 0 || image.Width % PatchSize != 0)
            throw new ArgumentException(
                $"input size {image} is not divisible by the patch size {PatchSize}; resize or crop it to a multiple of {PatchSize} " +
                $"(e.g. {image.Height / PatchSize * PatchSize}x{image.Width / PatchSize * PatchSize}), or enable dynamic padding");
        return new GridSize(image.Height / PatchSize, image.Width / PatchSize);
    }

    /// <summary>Checks the input's rank and channels, and pads it when dynamic padding is on.</summary>
    protected Tensor PrepareImage(Tensor x)
    {
        if (x.ndim != 4)
            throw new ArgumentException($"expected an image batch [B, C, H, W]; got a tensor of shape [{string.Join(", ", x.shape)}]");
        if (x.shape[1] != InChans)
            throw new ArgumentException($"expected {InChans} input channels; got {x.shape[1]} (shape [{string.Join(", ", x.shape)}])");
        var image = new GridSize(checked((int)x.shape[2]), checked((int)x.shape[3]));
        var grid = GridFor(image);
        long padH = grid.Height * PatchSize - image.Height, padW = grid.Width * PatchSize - image.Width;
        return padH == 0 && padW == 0 ? x : nn.functional.pad(x, [0, padW, 0, padH]);
    }
}
