using TorchSharp;
using VitSharp.PosEmbed;
using static TorchSharp.torch;

namespace VitSharp.Checkpoints;

/// <summary>
/// Resamples a patch-embedding kernel to another patch size the way FlexiViT does (Beyer et al. 2023; timm's
/// <c>resample_patch_embed</c>): not by resizing the kernel, but by the pseudo-inverse of the image resize, so that
/// the new kernel applied to a resized patch gives the same token as the old kernel on the original patch.
/// </summary>
public static class PatchEmbedResampler
{
    /// <param name="kernel">The conv weight <c>[dim, channels, h, w]</c>.</param>
    /// <param name="newSize">The new patch size.</param>
    /// <param name="mode">The resize whose pseudo-inverse is used (timm: bicubic).</param>
    /// <param name="antialias">Antialias the resize when it shrinks (timm: true).</param>
    /// <returns>The kernel <c>[dim, channels, newSize.Height, newSize.Width]</c> in the input's dtype, or the input when the size is unchanged.</returns>
    public static Tensor Resample(Tensor kernel, GridSize newSize, PosEmbedInterpolation mode = PosEmbedInterpolation.Bicubic, bool antialias = true)
    {
        if (kernel.ndim != 4) throw new ArgumentException($"a patch-embedding kernel must be [dim, channels, h, w]; got [{string.Join(", ", kernel.shape)}]");
        if (newSize.Height <= 0 || newSize.Width <= 0) throw new ArgumentException($"patch size {newSize} is empty");
        var oldSize = new GridSize((int)kernel.shape[2], (int)kernel.shape[3]);
        if (oldSize == newSize) return kernel;

        using var scope = NewDisposeScope();
        // Row i of `resize` is the resized image of the i-th one-hot old patch: resize maps old pixels to new ones
        // as a linear operator. Float64 keeps the pseudo-inverse accurate; timm computes it in float32.
        var basis = eye(oldSize.Count, dtype: ScalarType.Float64).reshape(oldSize.Count, 1, oldSize.Height, oldSize.Width);
        var resize = nn.functional.interpolate(basis, size: [newSize.Height, newSize.Width], mode: ToMode(mode),
                align_corners: mode == PosEmbedInterpolation.Nearest ? null : false, antialias: antialias && mode != PosEmbedInterpolation.Nearest)
            .reshape(oldSize.Count, newSize.Count);
        // timm: new kernel = pinv(resize) · old kernel, with resize as the [old, new] matrix above; for row vectors, k · pinv(resize)ᵀ.
        var inverse = linalg.pinv(resize);
        var flat = kernel.to(ScalarType.Float64).reshape(-1, oldSize.Count);
        var resampled = flat.matmul(inverse.t()).reshape(kernel.shape[0], kernel.shape[1], newSize.Height, newSize.Width);
        return resampled.to(kernel.dtype).MoveToOuterDisposeScope();
    }

    private static InterpolationMode ToMode(PosEmbedInterpolation mode) => mode switch
    {
        PosEmbedInterpolation.Bicubic => InterpolationMode.Bicubic,
        PosEmbedInterpolation.Bilinear => InterpolationMode.Bilinear,
        _ => InterpolationMode.Nearest,
    };
}
