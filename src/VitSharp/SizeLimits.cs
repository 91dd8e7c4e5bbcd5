using System.Globalization;
using VitSharp.PosEmbed;

namespace VitSharp;

/// <summary>
/// Bounds on the sizes that drive allocations, checked before libtorch is asked for memory, with a one-line error that
/// names the value and the limit. The token cap is a stated default (65,536 patches: a 256 × 256 grid, ViT-B/16 at
/// 4096 × 4096 pixels), overridable with the environment variable <c>VITSHARP_MAX_TOKENS</c>; tensors a size asks for
/// are also refused when they alone exceed the memory this process may use.
/// </summary>
public static class SizeLimits
{
    /// <summary>The environment variable that overrides <see cref="MaxTokens"/>.</summary>
    public const string MaxTokensVariable = "VITSHARP_MAX_TOKENS";

    /// <summary>Most patches one image may have, in a model's grid, an input's grid or a resampled table.</summary>
    public static long MaxTokens { get; } =
        long.TryParse(Environment.GetEnvironmentVariable(MaxTokensVariable), NumberStyles.None, CultureInfo.InvariantCulture, out long n) && n > 0 ? n : 65_536;

    /// <summary>Largest side accepted when parsing a size, far above any real one, so that products stay in range.</summary>
    public const int MaxSide = 1 << 20;

    /// <summary>
    /// Throws when <paramref name="grid"/> has more patches than <see cref="MaxTokens"/>; the message names
    /// <paramref name="what"/>, followed by <paramref name="size"/> when given (formatted only on failure, since every
    /// forward pass checks its input's grid).
    /// </summary>
    public static void CheckGrid(GridSize grid, string what, GridSize? size = null)
    {
        long tokens = (long)grid.Height * grid.Width;
        if (tokens > MaxTokens)
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"{(size is { } s ? $"{what} {s}" : what)} is a {grid.Height}x{grid.Width} grid of {tokens:N0} patches, more than the limit of {MaxTokens:N0} (set {MaxTokensVariable} to raise it)"));
    }

    /// <summary>Throws when a tensor of <paramref name="elements"/> values of <paramref name="bytesPerElement"/> bytes would not fit in the memory this process may use.</summary>
    public static void CheckAllocation(long elements, int bytesPerElement, string what)
    {
        long available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        double bytes = (double)elements * bytesPerElement;
        if (available > 0 && bytes > available)
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"{what} needs {bytes / (1 << 30):N1} GiB, more than the {available / (double)(1 << 30):N1} GiB of memory this process may use"));
    }

    /// <summary>Most threads a command accepts: four per logical processor (libtorch and the loaders gain nothing beyond one each).</summary>
    public static int MaxThreads => 4 * Environment.ProcessorCount;

    /// <summary>Throws when a thread or worker count is not in [<paramref name="min"/>, <see cref="MaxThreads"/>].</summary>
    public static void CheckThreads(int value, string option, int min = 1)
    {
        if (value < min || value > MaxThreads)
            throw new ArgumentException($"{option} must be between {min} and {MaxThreads} (4 per logical processor), got {value}");
    }
}
