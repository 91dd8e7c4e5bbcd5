namespace VitSharp.IO;

/// <summary>
/// Writes a file so that readers see either the old contents or the complete new contents, never a partial
/// file: the data goes to a temporary file in the same folder (so the final rename stays on one file system),
/// is flushed to disk, and then renamed over the target.
/// </summary>
internal static partial class AtomicFile
{
    /// <summary>Prefix and suffix of temporary files, so a crash's leftovers are recognisable.</summary>
    internal const string TempPrefix = ".";
    internal const string TempSuffix = ".tmp";

    /// <summary>
    /// Creates or replaces <paramref name="path"/> with what <paramref name="writeContent"/> writes. If anything
    /// throws, the temporary file is deleted and the target is left as it was.
    /// </summary>
    public static void Write(string path, Action<Stream> writeContent)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string target = Path.GetFullPath(path);
        string fileName = Path.GetFileName(target);
        if (fileName.Length == 0) throw new ArgumentException($"'{path}' names a folder, not a file.", nameof(path));

        string folder = Path.GetDirectoryName(target)!;
        string temp = Path.Combine(folder, $"{TempPrefix}{fileName}.{Guid.NewGuid():N}{TempSuffix}");
        bool created = false;
        try
        {
            // CreateNew: never clobber a file we did not create, even on a name collision.
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 16))
            {
                created = true;
                writeContent(stream);
                stream.Flush(flushToDisk: true);
            }
            // rename(2) on Unix, MoveFileEx(REPLACE_EXISTING) on Windows: the target switches in one step.
            File.Move(temp, target, overwrite: true);
        }
        catch
        {
            if (created) TryDelete(temp);
            throw;
        }
    }

    /// <summary>
    /// Whether <paramref name="fileName"/> is one of <see cref="Write"/>'s temporary files (<c>.NAME.GUID.tmp</c>), which
    /// only a write cut short leaves behind.
    /// </summary>
    public static bool IsTemporaryName(string fileName) => TemporaryName().IsMatch(fileName);

    [System.Text.RegularExpressions.GeneratedRegex("^\\..+\\.[0-9a-f]{32}\\.tmp$")]
    private static partial System.Text.RegularExpressions.Regex TemporaryName();

    /// <summary>Deletes <paramref name="path"/> if it can; false when it could not (the caller has a better error to report, or none).</summary>
    public static bool TryDelete(string path)
    {
        try
        {
            File.Delete(path);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
