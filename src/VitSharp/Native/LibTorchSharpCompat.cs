namespace VitSharp.Native;

/// <summary>
/// Decides whether TorchSharp's <c>libLibTorchSharp.so</c> may be made loadable against an older libstdc++ by
/// marking its missing version requirements weak, and produces the patched bytes.
/// </summary>
/// <remarks>
/// TorchSharp 0.107 is built with GCC 13 headers, which emit a reference to
/// <c>std::ios_base_library_init()</c> (version <c>GLIBCXX_3.4.32</c>) in every object that includes
/// &lt;iostream&gt;. The reference exists only so the linker pulls in libstdc++'s stream initialisation; nothing
/// calls it. GCC 12's libstdc++ (Debian 12, Ubuntu 22.04) lacks that version, so the loader refuses the library.
/// With <c>VER_FLG_WEAK</c> on that one requirement the loader accepts it and the library runs correctly.
/// Any other symbol under a missing version is a real dependency, and then we refuse to patch.
/// </remarks>
public static class LibTorchSharpCompat
{
    public const string LibStdCxx = "libstdc++.so.6";

    /// <summary>Symbols that GCC 13+ emits as link-time-only references: safe to leave unresolved.</summary>
    public static readonly IReadOnlySet<string> LinkTimeOnlySymbols = new HashSet<string>(StringComparer.Ordinal)
    {
        "_ZSt21ios_base_library_initv",
    };

    /// <summary>
    /// The version requirements of <paramref name="library"/> on libstdc++ that <paramref name="systemLibStdCxx"/>
    /// lacks, if every one of them binds only link-time-only symbols. Throws <see cref="TorchNativeLoadException"/>
    /// naming the symbols otherwise.
    /// </summary>
    public static IReadOnlyList<ElfVersionNeed> VersionsToWeaken(ElfSymbolVersions library, ElfSymbolVersions systemLibStdCxx)
    {
        var missing = library.MissingFrom(LibStdCxx, systemLibStdCxx);
        var unsafeSymbols = missing
            .SelectMany(m => m.Symbols.Where(s => !LinkTimeOnlySymbols.Contains(s)).Select(s => $"{s}@{m.Name}"))
            .ToList();
        if (unsafeSymbols.Count > 0)
            throw new TorchNativeLoadException(
                $"TorchSharp's native library needs {string.Join(", ", missing.Select(m => m.Name).Distinct())} " +
                $"from libstdc++ for symbols that are really used ({string.Join(", ", unsafeSymbols.Take(5))}" +
                $"{(unsafeSymbols.Count > 5 ? ", ..." : "")}); VitSharp will not patch it. {InstallAdvice}");
        return missing;
    }

    /// <summary>A copy of <paramref name="original"/> with <c>VER_FLG_WEAK</c> set on each of <paramref name="needs"/>.</summary>
    public static byte[] Weaken(ReadOnlySpan<byte> original, IEnumerable<ElfVersionNeed> needs)
    {
        var patched = original.ToArray();
        foreach (var need in needs)
        {
            int at = checked((int)need.FlagsOffset);
            ushort flags = (ushort)(patched[at] | (patched[at + 1] << 8));
            flags |= ElfSymbolVersions.VerFlagWeak;
            patched[at] = (byte)flags;
            patched[at + 1] = (byte)(flags >> 8);
        }
        return patched;
    }

    public const string InstallAdvice =
        "Install a libstdc++6 from GCC 13 or newer (Debian 13, Ubuntu 24.04 or later ship one), " +
        "or use a TorchSharp build made for this system.";
}

/// <summary>TorchSharp's native libraries could not be loaded; the message says what to do.</summary>
public sealed class TorchNativeLoadException(string message, Exception? inner = null) : Exception(message, inner);
