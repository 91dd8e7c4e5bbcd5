using System.Globalization;
using System.Text;

namespace VitSharp.IO;

/// <summary>
/// Thrown when a safetensors file is malformed. The message is one line that names the file and the
/// single problem found, e.g. <c>Invalid safetensors file 'model.safetensors': tensor 'head.weight': missing field 'dtype'.</c>
/// </summary>
/// <remarks>
/// <see cref="InvalidDataException"/> is sealed, so this derives from <see cref="IOException"/>: a caller that
/// already reports unreadable files by catching <see cref="IOException"/> reports malformed ones too.
/// </remarks>
public sealed class SafeTensorsFormatException : IOException
{
    /// <summary>Creates the exception for <paramref name="sourceName"/> (a path or stream name) and one <paramref name="problem"/>.</summary>
    public SafeTensorsFormatException(string sourceName, string problem)
        : base($"Invalid safetensors file {Describe.Text(sourceName)}: {Describe.OneLine(problem)}.")
    {
        SourceName = sourceName;
        Problem = problem;
    }

    /// <summary>The file path, or the name given for a stream.</summary>
    public string SourceName { get; }

    /// <summary>The problem alone, without the file name.</summary>
    public string Problem { get; }
}

/// <summary>
/// Formats untrusted strings (tensor names, metadata keys) for one-line error messages: quoted, control
/// characters escaped so a hostile name cannot break the line, and long names shortened.
/// </summary>
internal static class Describe
{
    private const int MaxShownChars = 120;
    private const int MaxShownDims = 8;

    /// <summary>Quotes <paramref name="text"/> in single quotes, escaped and shortened.</summary>
    public static string Text(string text)
    {
        var builder = new StringBuilder(Math.Min(text.Length, MaxShownChars) + 8).Append('\'');
        foreach (char c in text.Length > MaxShownChars ? text[..MaxShownChars] : text)
        {
            if (BreaksLine(c)) builder.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
            else builder.Append(c);
        }
        if (text.Length > MaxShownChars) builder.Append($"...' ({text.Length} chars)");
        else builder.Append('\'');
        return builder.ToString();
    }

    private static bool BreaksLine(char c) =>
        char.IsControl(c) || char.GetUnicodeCategory(c) is UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator;

    /// <summary>Formats a shape as <c>[2, 3]</c>, eliding the middle of absurdly long ones.</summary>
    public static string Shape(IReadOnlyList<long> shape)
    {
        if (shape.Count <= MaxShownDims) return $"[{string.Join(", ", shape)}]";
        return $"[{string.Join(", ", shape.Take(MaxShownDims))}, ... ({shape.Count} dims)]";
    }

    /// <summary>Replaces line breaks so that text from elsewhere (e.g. a JSON parser message) stays on one line.</summary>
    public static string OneLine(string text) =>
        text.ReplaceLineEndings(" ").TrimEnd('.', ' ');
}
