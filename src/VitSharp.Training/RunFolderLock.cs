using System.Globalization;
using VitSharp.IO;

namespace VitSharp.Training;

/// <summary>
/// One trainer per run folder. The lock is the operating system's (an exclusive lock on <see cref="FileName"/>, which
/// .NET takes with <c>flock</c> on Unix and a share mode on Windows), held for the whole run and released by the
/// operating system when the process ends however it ends, so a killed run never leaves a stale lock. The holder's
/// process id is written beside it (<see cref="HolderFileName"/>) for the message the next trainer gives.
/// </summary>
public sealed class RunFolderLock : IDisposable
{
    /// <summary>The locked file inside the run folder.</summary>
    public const string FileName = ".vitsharp-train.lock";

    /// <summary>The process id of the trainer holding the lock.</summary>
    public const string HolderFileName = ".vitsharp-train.pid";

    private readonly FileStream stream;
    private readonly string folder;

    private RunFolderLock(FileStream stream, string folder)
    {
        this.stream = stream;
        this.folder = folder;
    }

    /// <summary>Takes the lock on <paramref name="folder"/> (which must exist), then removes the temporary checkpoint files a killed run left behind.</summary>
    /// <exception cref="InvalidOperationException">Another process holds the lock.</exception>
    public static RunFolderLock Acquire(string folder)
    {
        string path = Path.Combine(folder, FileName);
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException) when (File.Exists(path))
        {
            string holder = ReadHolder(folder) is { } pid ? $"process {pid}" : "another process";
            throw new InvalidOperationException($"'{folder}' is in use by another training run ({holder}); wait for it to end, or choose another output folder");
        }
        File.WriteAllText(Path.Combine(folder, HolderFileName), Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "\n");
        var held = new RunFolderLock(stream, folder);
        held.RemoveLeftovers();
        return held;
    }

    /// <summary>
    /// Deletes the temporary files of interrupted atomic writes (<c>.NAME.GUID.tmp</c>, e.g. a checkpoint a kill cut
    /// short). Only the lock holder calls it, so no other writer's file is in flight; complete files are never touched.
    /// </summary>
    public int RemoveLeftovers()
    {
        int removed = 0;
        // A file that cannot be deleted is left for the next run: a leftover is waste, not a danger.
        foreach (string file in Directory.EnumerateFiles(folder, ".*.tmp"))
            if (AtomicFile.IsTemporaryName(Path.GetFileName(file)) && AtomicFile.TryDelete(file)) removed++;
        return removed;
    }

    private static string? ReadHolder(string folder)
    {
        try
        {
            string text = File.ReadAllText(Path.Combine(folder, HolderFileName)).Trim();
            return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out _) ? text : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public void Dispose()
    {
        AtomicFile.TryDelete(Path.Combine(folder, HolderFileName));
        stream.Dispose();
    }
}
