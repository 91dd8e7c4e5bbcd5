namespace VitSharp.Imaging;

/// <summary>
/// Upper bounds checked before an image is decoded, so a hostile or corrupt file cannot make the decoder allocate
/// gigabytes: the file size is checked before reading, the pixel count from the header before decoding.
/// </summary>
public sealed record ImageLimits
{
    /// <summary>Largest width × height accepted (default 100 million, e.g. 10000 × 10000).</summary>
    public long MaxPixels { get; init; } = 100_000_000;

    /// <summary>Largest encoded file accepted, in bytes (default 512 MiB).</summary>
    public long MaxFileBytes { get; init; } = 512L << 20;

    public static ImageLimits Default { get; } = new();
}
