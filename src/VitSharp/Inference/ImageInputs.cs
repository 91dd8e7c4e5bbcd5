using VitSharp.Imaging;
using VitSharp.IO;

namespace VitSharp.Inference;

/// <summary>Turns command-line style arguments into the image files to process, in a stable order.</summary>
public static class ImageInputs
{
    /// <summary>
    /// Expands each argument in order: a folder gives its image files (by <see cref="ImageFile.Extensions"/>,
    /// recursively, sorted by ordinal path, each real file once; symbolic links to folders are followed only with
    /// <paramref name="followFolderLinks"/>, and then a folder reached twice is walked once); <c>@LIST</c> gives the
    /// paths listed in the file LIST, one per line (blank lines skipped; relative paths are taken from the current
    /// folder, as if typed on the command line; at most <see cref="MaxListBytes"/>); anything else is taken as a file,
    /// even a missing one, a FIFO or one with another extension, so that the reader reports it as a failed file
    /// (without opening what is not a regular file) rather than silently dropping it. A file named twice (or under two
    /// names, through links) is kept once, at its first place.
    /// </summary>
    /// <exception cref="FileNotFoundException">An <c>@LIST</c> file does not exist.</exception>
    /// <exception cref="InputFileException">An <c>@LIST</c> file is not a regular file or is over the limit.</exception>
    public static IReadOnlyList<string> Expand(IEnumerable<string> arguments, bool followFolderLinks = false)
    {
        var files = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (string argument in arguments)
        {
            foreach (string path in ExpandOne(argument, followFolderLinks))
                if (seen.Add(Identity(path))) files.Add(path);
        }
        return files;
    }

    /// <summary>A regular file by device and inode, so that two names of one file count once; anything else by its full path.</summary>
    private static string Identity(string path) =>
        FileStatus.Of(path) is { Kind: FileKind.Regular } status ? $"file {status.Device}:{status.Inode}" : Path.GetFullPath(path);

    /// <summary>Largest <c>@LIST</c> file read (64 MiB, about a million paths).</summary>
    public const long MaxListBytes = InputFile.MaxTextBytes;

    private static IEnumerable<string> ExpandOne(string argument, bool followFolderLinks)
    {
        if (argument.StartsWith('@') && argument.Length > 1)
        {
            string list = argument[1..];
            if (!File.Exists(list) && !Directory.Exists(list)) throw new FileNotFoundException($"list file '{list}' does not exist");
            string text = InputFile.ReadAllText(list, MaxListBytes);
            return text.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).SelectMany(p => ExpandPath(p, followFolderLinks)).ToList();
        }
        return ExpandPath(argument, followFolderLinks);
    }

    private static IEnumerable<string> ExpandPath(string path, bool followFolderLinks) =>
        Directory.Exists(path) ? DirectoryWalk.Files(path, IsImageFile, followFolderLinks) : [path];

    /// <summary>True when the file's extension is one <see cref="ImageFile"/> reads (case-insensitive).</summary>
    public static bool IsImageFile(string path) => ImageFile.Extensions.Contains(Path.GetExtension(path), StringComparer.OrdinalIgnoreCase);
}
