namespace VitSharp.Imaging;

/// <summary>The resampling filter of a resize; both are PIL's antialiased filters (support grows with the downscale factor).</summary>
public enum ResizeFilter
{
    /// <summary>PIL <c>Image.BILINEAR</c> (torchvision's <c>InterpolationMode.BILINEAR</c>, the default of <c>transforms.Resize</c>).</summary>
    Bilinear,

    /// <summary>PIL <c>Image.BICUBIC</c>, the Keys cubic with a = -0.5 (torchvision <c>InterpolationMode.BICUBIC</c>, <c>interpolation=3</c>).</summary>
    Bicubic,
}
