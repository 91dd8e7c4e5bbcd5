namespace VitSharp.Imaging;

/// <summary>An image that cannot be read: missing, empty, truncated, not an image, or over an <see cref="ImageLimits"/> bound.</summary>
public sealed class ImageLoadException : IOException
{
    public ImageLoadException(string name, string problem, Exception? inner = null)
        : base($"Cannot read image '{name}': {problem}", inner)
    {
        ImageName = name;
        Problem = problem;
    }

    /// <summary>The path, or the name given for a stream.</summary>
    public string ImageName { get; }

    /// <summary>What is wrong, without the "Cannot read image" prefix.</summary>
    public string Problem { get; }
}
