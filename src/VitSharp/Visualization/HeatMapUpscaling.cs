namespace VitSharp.Visualization;

/// <summary>How a coarse map (one value per patch) is enlarged to image pixels.</summary>
public enum HeatMapUpscaling
{
    /// <summary>Each value fills a block of pixels, as DINO's <c>interpolate(scale_factor=patch, mode="nearest")</c>: patches stay visible.</summary>
    Nearest,

    /// <summary>Bilinear between cell centres (PyTorch's <c>align_corners=False</c> sampling): a smooth picture.</summary>
    Bilinear,
}
