using TorchSharp;
using static TorchSharp.torch;

namespace VitSharp.PosEmbed;

/// <summary>
/// Resamples a learned absolute position embedding <c>[1, prefix + h·w, D]</c> from one patch grid to another,
/// with the exact semantics of a PyTorch family (<see cref="PosEmbedResampling"/>). Prefix tokens (class and
/// register tokens) are copied unchanged. The patch part is row-major over the grid, rows along the image height.
/// The interpolation runs in float32 and the result is cast back to the input's dtype. Differentiable.
/// </summary>
public static class PosEmbedResampler
{
    /// <param name="posEmbed">The table, <c>[1, prefixTokens + oldGrid.Count, D]</c>.</param>
    /// <param name="oldGrid">The grid the table was trained on (given explicitly: never inferred from a square root).</param>
    /// <param name="newGrid">The target grid, usually <c>(H / patch, W / patch)</c>.</param>
    /// <param name="prefixTokens">Leading entries that are not on the grid (0 for timm's <c>no_embed_class</c> models).</param>
    /// <param name="how">The family's semantics.</param>
    /// <param name="imageSize">The input image in pixels, for the families whose skip rule looks at it (DINO, HF); defaults to the grid.</param>
    /// <returns>The resampled table, or <paramref name="posEmbed"/> itself when the family would not resample.</returns>
    public static Tensor Resample(Tensor posEmbed, GridSize oldGrid, GridSize newGrid, int prefixTokens, PosEmbedResampling how, GridSize? imageSize = null)
    {
        if (posEmbed.ndim != 3 || posEmbed.shape[0] != 1)
            throw new ArgumentException($"a position embedding must be [1, tokens, dim]; got [{string.Join(", ", posEmbed.shape)}]");
        if (prefixTokens < 0) throw new ArgumentOutOfRangeException(nameof(prefixTokens));
        if (newGrid.Height <= 0 || newGrid.Width <= 0)
            throw new ArgumentException($"target grid {newGrid} is empty");
        SizeLimits.CheckGrid(newGrid, "the target grid");
        SizeLimits.CheckAllocation((prefixTokens + (long)newGrid.Height * newGrid.Width) * posEmbed.shape[2], 4, $"a {newGrid} position table");
        long tokens = posEmbed.shape[1];
        if (tokens != prefixTokens + oldGrid.Count)
            throw new ArgumentException($"position embedding has {tokens} tokens, but {prefixTokens} prefix tokens + a {oldGrid} grid need {prefixTokens + oldGrid.Count}");

        if (IsSkipped(how, oldGrid, newGrid, imageSize ?? newGrid)) return posEmbed;

        using var scope = NewDisposeScope();
        long dim = posEmbed.shape[2];
        var prefix = posEmbed[.., ..prefixTokens];
        var grid = posEmbed[.., prefixTokens..]
            .to(ScalarType.Float32)
            .reshape(1, oldGrid.Height, oldGrid.Width, dim)
            .permute(0, 3, 1, 2);

        var resized = Interpolate(grid, oldGrid, newGrid, how);
        if (resized.shape[2] != newGrid.Height || resized.shape[3] != newGrid.Width)
            throw new InvalidOperationException($"{how.Name} resampling of a {oldGrid} grid gave {resized.shape[2]}x{resized.shape[3]}, not {newGrid}");

        var patches = resized.permute(0, 2, 3, 1).reshape(1, newGrid.Count, dim).to(posEmbed.dtype);
        return cat([prefix, patches], dim: 1).MoveToOuterDisposeScope();
    }

    /// <summary>Whether the family returns its table unchanged for this target.</summary>
    public static bool IsSkipped(PosEmbedResampling how, GridSize oldGrid, GridSize newGrid, GridSize imageSize) =>
        oldGrid == newGrid && (how.Skip == PosEmbedSkipRule.SameGrid || imageSize.IsSquare);

    private static Tensor Interpolate(Tensor grid, GridSize oldGrid, GridSize newGrid, PosEmbedResampling how)
    {
        var mode = how.Mode switch
        {
            PosEmbedInterpolation.Bicubic => InterpolationMode.Bicubic,
            PosEmbedInterpolation.Bilinear => InterpolationMode.Bilinear,
            _ => InterpolationMode.Nearest,
        };
        bool nearest = how.Mode == PosEmbedInterpolation.Nearest;
        // PyTorch's own default for align_corners is False; passing it explicitly keeps libtorch from warning.
        bool? alignCorners = nearest ? null : how.AlignCorners ?? false;
        bool antialias = !nearest && how.Antialias;

        if (how.ScaleOffset is { } offset)
        {
            double[] scale = [(newGrid.Height + offset) / oldGrid.Height, (newGrid.Width + offset) / oldGrid.Width];
            return nn.functional.interpolate(grid, scale_factor: scale, mode: mode, align_corners: alignCorners, antialias: antialias);
        }
        return nn.functional.interpolate(grid, size: [newGrid.Height, newGrid.Width], mode: mode, align_corners: alignCorners, antialias: antialias);
    }
}
