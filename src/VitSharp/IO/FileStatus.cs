using System.Runtime.InteropServices;

namespace VitSharp.IO;

/// <summary>What a path names, asked of the file system without opening it.</summary>
internal enum FileKind { Missing, Regular, Directory, SymbolicLink, Fifo, Socket, CharacterDevice, BlockDevice, LinkLoop, Other }

/// <summary>
/// A path's kind and identity (device and inode) from Linux's <c>statx</c>, whose buffer has one layout on every
/// architecture. .NET reports a FIFO, a socket or a device as an ordinary file, and opening a FIFO blocks until something
/// writes to it, so inputs are classified here before anything opens them. Elsewhere (no <c>statx</c>) only what .NET can
/// tell is known: regular file, directory, symbolic link or missing, and the identity is the full path.
/// </summary>
internal readonly record struct FileStatus(FileKind Kind, ulong Device, ulong Inode, long Size)
{
    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const uint BasicStats = 0x7ff;
    private const int BufferSize = 256;
    private const int ErrNoEntry = 2, ErrNotDirectory = 20, ErrLoop = 40, ErrNameTooLong = 36;

    [DllImport("libc", EntryPoint = "statx", SetLastError = true)]
    private static extern int Statx(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, [Out] byte[] buffer);

    private static bool statxMissing = !OperatingSystem.IsLinux();

    /// <summary>The kind of <paramref name="path"/>: of what a symbolic link points to when <paramref name="followLinks"/>, else of the link itself.</summary>
    public static FileStatus Of(string path, bool followLinks = true)
    {
        if (!statxMissing)
        {
            try
            {
                var buffer = new byte[BufferSize];
                if (Statx(AtFdCwd, path, followLinks ? 0 : AtSymlinkNoFollow, BasicStats, buffer) == 0)
                {
                    ushort mode = BitConverter.ToUInt16(buffer, 28);
                    ulong device = (ulong)BitConverter.ToUInt32(buffer, 136) << 32 | BitConverter.ToUInt32(buffer, 140);
                    return new(KindOf(mode), device, BitConverter.ToUInt64(buffer, 32), BitConverter.ToInt64(buffer, 40));
                }
                return Marshal.GetLastPInvokeError() switch
                {
                    ErrLoop => new(FileKind.LinkLoop, 0, 0, 0),
                    ErrNoEntry or ErrNotDirectory or ErrNameTooLong => new(FileKind.Missing, 0, 0, 0),
                    _ => new(FileKind.Other, 0, 0, 0),
                };
            }
            catch (EntryPointNotFoundException)
            {
                statxMissing = true; // a C library older than glibc 2.28
            }
            catch (DllNotFoundException)
            {
                statxMissing = true;
            }
        }
        return FromDotNet(path, followLinks);
    }

    /// <summary>True when both name the same file or folder.</summary>
    public bool SameAs(FileStatus other) => Device == other.Device && Inode == other.Inode && Kind != FileKind.Missing;

    private static FileKind KindOf(ushort mode) => (mode & 0xF000) switch
    {
        0x8000 => FileKind.Regular,
        0x4000 => FileKind.Directory,
        0xA000 => FileKind.SymbolicLink,
        0x1000 => FileKind.Fifo,
        0xC000 => FileKind.Socket,
        0x2000 => FileKind.CharacterDevice,
        0x6000 => FileKind.BlockDevice,
        _ => FileKind.Other,
    };

    private static FileStatus FromDotNet(string path, bool followLinks)
    {
        FileSystemInfo info = Directory.Exists(path) ? new DirectoryInfo(path) : new FileInfo(path);
        if (!info.Exists && info.LinkTarget is null) return new(FileKind.Missing, 0, 0, 0);
        if (info.LinkTarget is not null)
        {
            if (!followLinks) return new(FileKind.SymbolicLink, 0, Identity(path), 0);
            try
            {
                var target = info.ResolveLinkTarget(returnFinalTarget: true);
                if (target is null || !target.Exists) return new(FileKind.Missing, 0, 0, 0);
                info = target;
            }
            catch (IOException)
            {
                return new(FileKind.LinkLoop, 0, 0, 0);
            }
        }
        return info is DirectoryInfo
            ? new(FileKind.Directory, 0, Identity(info.FullName), 0)
            : new(FileKind.Regular, 0, Identity(info.FullName), ((FileInfo)info).Length);
    }

    private static ulong Identity(string path) => (ulong)StringComparer.Ordinal.GetHashCode(Path.GetFullPath(path)) & 0xFFFFFFFF;
}
