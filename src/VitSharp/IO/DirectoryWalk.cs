namespace VitSharp.IO;

/// <summary>
/// The entries below a folder that a reader should look at, each real file once. Symbolic links to folders are not
/// followed unless asked, and when they are, a folder already visited (by device and inode, so whatever path leads to
/// it) is not entered again: a link back to a parent cannot make the walk endless. Hidden entries (names starting with a
/// dot) and folders that cannot be read are skipped. FIFOs, sockets and devices are returned like files, so that the
/// reader reports each as "not a regular file" (<see cref="InputFile"/>) without opening it.
/// </summary>
internal static class DirectoryWalk
{
    /// <summary>Every entry below <paramref name="root"/> that is not a folder and passes <paramref name="include"/> (given the path), sorted by ordinal path.</summary>
    public static IReadOnlyList<string> Files(string root, Func<string, bool> include, bool followLinks = false)
    {
        var found = new List<(string Path, FileStatus Status)>();
        var visited = new HashSet<(ulong, ulong)>();
        var pending = new Stack<string>();
        pending.Push(root);
        while (pending.Count > 0)
        {
            string folder = pending.Pop();
            var status = FileStatus.Of(folder);
            if (!visited.Add((status.Device, status.Inode))) continue;
            IEnumerable<string> entries;
            try
            {
                entries = Directory.EnumerateFileSystemEntries(folder).Order(StringComparer.Ordinal).ToList();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue; // unreadable folder: as IgnoreInaccessible did
            }
            var folders = new List<string>();
            foreach (string entry in entries)
            {
                if (Path.GetFileName(entry).StartsWith('.')) continue;
                var own = FileStatus.Of(entry, followLinks: false);
                var target = own.Kind == FileKind.SymbolicLink ? FileStatus.Of(entry) : own;
                if (target.Kind == FileKind.Directory)
                {
                    if (own.Kind != FileKind.SymbolicLink || followLinks) folders.Add(entry);
                }
                else if (target.Kind != FileKind.Missing && include(entry))
                {
                    found.Add((entry, target));
                }
            }
            // In sorted order, so that of two links to one folder the first by name is the one walked.
            for (int i = folders.Count - 1; i >= 0; i--) pending.Push(folders[i]);
        }
        // Each real file once, at its first path in sorted order (a file linked from two places is one file).
        var files = new List<string>();
        var seen = new HashSet<(ulong, ulong)>();
        foreach (var (path, status) in found.OrderBy(f => f.Path, StringComparer.Ordinal))
            if (status.Kind != FileKind.Regular || seen.Add((status.Device, status.Inode))) files.Add(path);
        return files;
    }
}
