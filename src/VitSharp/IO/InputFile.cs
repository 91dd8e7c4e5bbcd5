using System.Text;

namespace VitSharp.IO;

/// <summary>
/// The rule every reader of a user's file follows before it opens the file: it must be a regular file (a symbolic link to
/// one is fine), never a FIFO, socket or device (a FIFO would block the reader forever, <c>/dev/zero</c> would fill memory),
/// and small text files (lists, labels, configs) are read only up to a size limit.
/// </summary>
internal static class InputFile
{
    /// <summary>Largest list, labels or config file read whole (64 MiB: a million paths of 64 bytes).</summary>
    public const long MaxTextBytes = 64L << 20;

    /// <summary>The problem with reading <paramref name="path"/> as a file, or null when it is a regular file or missing (the caller says what a missing file means).</summary>
    public static string? Problem(string path) => FileStatus.Of(path).Kind switch
    {
        FileKind.Regular or FileKind.Missing => null,
        FileKind.Directory => "is a folder, not a file",
        FileKind.LinkLoop => "a loop of symbolic links",
        _ => "not a regular file",
    };

    /// <summary>Throws <see cref="InputFileException"/> unless <paramref name="path"/> is a regular file or missing.</summary>
    public static void RequireRegular(string path)
    {
        if (Problem(path) is { } problem) throw new InputFileException(path, problem);
    }

    /// <summary>The whole text of a regular file of at most <paramref name="maxBytes"/> bytes.</summary>
    /// <exception cref="InputFileException">Not a regular file, or larger than the limit.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static string ReadAllText(string path, long maxBytes = MaxTextBytes)
    {
        RequireRegular(path);
        using var stream = File.OpenRead(path);
        if (stream.Length > maxBytes)
            throw new InputFileException(path, $"{stream.Length:N0} bytes, more than the limit of {maxBytes:N0} for this kind of file");
        using var reader = new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        return reader.ReadToEnd();
    }
}
