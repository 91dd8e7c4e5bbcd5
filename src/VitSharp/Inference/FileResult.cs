namespace VitSharp.Inference;

/// <summary>The outcome for one input file: a value, or the reason the file could not be used.</summary>
/// <param name="Path">The file, as it was given.</param>
/// <param name="Value">The result; null when <paramref name="Error"/> is set.</param>
/// <param name="Error">One line saying what is wrong with the file (unreadable, not an image, too large, ...), or null.</param>
public sealed record FileResult<T>(string Path, T? Value, string? Error) where T : class
{
    /// <summary>True when the file was processed.</summary>
    public bool Succeeded => Error is null;
}
