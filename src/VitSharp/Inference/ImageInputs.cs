using VitSharp.Imaging;

namespace VitSharp.Inference;

/// <summary>Turns command-line style arguments into the image files to process, in a stable order.</summary>
public static class ImageInputs
{
    /// <summary>
    /// Expands each argument in order: a folder gives its image files (by <see cref="ImageFile.Extensions"/>,
    /// recursively, sorted by ordinal path); <c>@LIST</c> gives the paths listed in the file LIST, one per line
    /// (blank lines skipped; relative paths are taken from the current folder, as if typed on the command line);
    /// anything else is taken as a file, even a missing one or one with another extension, so that it is reported
    /// as a failed file rather than silently dropped. A file named twice is kept once, at its first place.
    /// </summary>
    /// <exception cref="FileNotFoundException">An <c>@LIST</c> file does not exist.</exception>
    public static IReadOnlyList<string> Expand(IEnumerable<string> arguments)
    {
        var files = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (string argument in arguments)
        {
            foreach (string path in ExpandOne(argument))
                if (seen.Add(Path.GetFullPath(path))) files.Add(path);
        }
        return files;
    }

    private static IEnumerable<string> ExpandOne(string argument)
    {
        if (argument.StartsWith('@') && argument.Length > 1)
        {
            string list = argument[1..];
            if (!File.Exists(list)) throw new FileNotFoundException($"list file '{list}' does not exist");
            return File.ReadAllLines(list).Select(l => l.Trim()).Where(l => l.Length > 0).SelectMany(ExpandPath).ToList();
        }
        return ExpandPath(argument);
    }

    private static IEnumerable<string> ExpandPath(string path)
    {
        if (!Directory.Exists(path)) return [path];
        return Directory.EnumerateFiles(path, "*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = FileAttributes.Hidden })
            .Where(IsImageFile)
            .Order(StringComparer.Ordinal);
    }

    /// <summary>True when the file's extension is one <see cref="ImageFile"/> reads (case-insensitive).</summary>
    public static bool IsImageFile(string path) => ImageFile.Extensions.Contains(Path.GetExtension(path), StringComparer.OrdinalIgnoreCase);
}
