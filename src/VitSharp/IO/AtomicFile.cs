namespace VitSharp.IO;

/// <summary>
/// Writes a file so that readers see either the old contents or the complete new contents, never a partial
/// file: the data goes to a temporary file in the same folder (so the final rename stays on one file system),
/// is flushed to disk, and then renamed over the target.
/// </summary>
internal static class AtomicFile
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

    private static void TryDelete(string temp)
    {
        try
        {
            File.Delete(temp);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort: the original exception is the one worth reporting.
        }
    }
}
