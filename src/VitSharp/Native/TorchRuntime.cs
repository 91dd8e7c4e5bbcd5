using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace VitSharp.Native;

/// <summary>
/// Makes TorchSharp's native library loadable before TorchSharp first needs it. On systems where
/// <c>libLibTorchSharp.so</c> loads as shipped, this does nothing. On systems whose libstdc++ lacks only the
/// link-time-only version (see <see cref="LibTorchSharpCompat"/>), it loads a verified, patched private copy.
/// It runs automatically when the VitSharp assembly is first used; call <see cref="EnsureLoaded"/> to get
/// the outcome as an exception with one clear message.
/// </summary>
public static partial class TorchRuntime
{
    private const string LibraryFile = "libLibTorchSharp.so";
    private static readonly Lazy<Exception?> Outcome = new(TryPrepare, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Where the patched copy lives, when one was needed; null otherwise.</summary>
    public static string? PatchedLibraryPath { get; private set; }

    /// <summary>Prepares TorchSharp's native library once; throws <see cref="TorchNativeLoadException"/> if it cannot be loaded.</summary>
    public static void EnsureLoaded()
    {
        if (Outcome.Value is { } error) throw error;
    }

#pragma warning disable CA2255 // A library module initializer is deliberate: any program referencing VitSharp must load TorchSharp with no manual step.
    [ModuleInitializer]
    internal static void InitializeOnAssemblyLoad() => _ = Outcome.Value;
#pragma warning restore CA2255

    private static Exception? TryPrepare()
    {
        try
        {
            Prepare();
            return null;
        }
        catch (TorchNativeLoadException e)
        {
            return e;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            return new TorchNativeLoadException($"Could not prepare TorchSharp's native library: {e.Message}. {LibTorchSharpCompat.InstallAdvice}", e);
        }
    }

    private static void Prepare()
    {
        if (!OperatingSystem.IsLinux()) return;
        string? original = FindShippedLibrary();
        if (original is null) return; // Nothing of ours to fix: TorchSharp reports its own missing-package error.

        string loadError;
        try
        {
            NativeLibrary.Load(original);
            return; // Loads as shipped: leave the system untouched.
        }
        catch (DllNotFoundException e)
        {
            loadError = e.Message;
        }

        var missing = MissingVersionPattern().Match(loadError);
        if (!missing.Success || !missing.Groups["required"].Value.EndsWith(LibraryFile, StringComparison.Ordinal))
            throw new TorchNativeLoadException($"TorchSharp's native library {original} does not load: {FirstLine(loadError)}");

        string systemLibStdCxx = missing.Groups["provider"].Value;
        byte[] shipped = File.ReadAllBytes(original);
        var library = ElfSymbolVersions.Parse(shipped, original);
        var toWeaken = LibTorchSharpCompat.VersionsToWeaken(library, ElfSymbolVersions.Read(systemLibStdCxx));
        if (toWeaken.Count == 0)
            throw new TorchNativeLoadException($"TorchSharp's native library does not load ({FirstLine(loadError)}) and the cause is not one VitSharp can fix. {LibTorchSharpCompat.InstallAdvice}");

        var (patched, temporary) = WritePrivateCopy(shipped, toWeaken);
        nint handle;
        try
        {
            // Load the patched copy's dependencies from the shipped folder first, by full path: the loader then
            // binds its DT_NEEDED entries to these by soname, so libtorch is loaded once, from where TorchSharp
            // itself loads it. (Two copies of libtorch_cpu in one process abort on duplicate op registration.)
            string shippedFolder = Path.GetDirectoryName(original)!;
            foreach (string dependency in library.NeededLibraries.Select(n => Path.Combine(shippedFolder, n)).Where(File.Exists))
                NativeLibrary.Load(dependency);
            handle = NativeLibrary.Load(patched);
        }
        catch (DllNotFoundException e)
        {
            throw new TorchNativeLoadException($"The patched copy of TorchSharp's native library ({patched}) does not load either: {FirstLine(e.Message)}. {LibTorchSharpCompat.InstallAdvice}", e);
        }
        PatchedLibraryPath = patched;
        // A private folder (no writable cache) goes again at once: the loaded mapping outlives the file on Linux, and
        // later loads by name find the library by its soname. Otherwise every run would leave a 2 MB folder in /tmp.
        if (temporary) RemoveFolder(Path.GetDirectoryName(patched)!);
        RouteTorchSharpTo(handle);
    }

    /// <summary>TorchSharp imports "LibTorchSharp"; answer its imports with the handle of the patched copy.</summary>
    private static void RouteTorchSharpTo(nint handle)
    {
        var torchSharp = typeof(TorchSharp.torch).Assembly;
        try
        {
            NativeLibrary.SetDllImportResolver(torchSharp, (name, _, _) =>
                name is "LibTorchSharp" or LibraryFile ? handle : 0);
        }
        catch (InvalidOperationException)
        {
            // Another resolver owns TorchSharp's imports. The patched copy is already loaded under the soname
            // libLibTorchSharp.so, so a by-name load still finds it.
        }
    }

    /// <summary>
    /// The patched copy, in a per-user cache folder keyed by the original's hash; written atomically and reused
    /// only when its bytes are exactly the patched bytes. Without a writable cache it goes to a fresh private folder.
    /// </summary>
    private static (string Path, bool Temporary) WritePrivateCopy(byte[] bytes, IReadOnlyList<ElfVersionNeed> toWeaken)
    {
        byte[] patched = LibTorchSharpCompat.Weaken(bytes, toWeaken);
        string key = Convert.ToHexStringLower(SHA256.HashData(bytes))[..16];
        try
        {
            return (WriteInto(Directory.CreateDirectory(Path.Combine(CacheRoot(), "native", key)).FullName, patched), false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Read-only home or cache: a folder of mode 0700 for this process only, removed once the library is loaded.
            return (WriteInto(Directory.CreateTempSubdirectory("vitsharp-native-").FullName, patched), true);
        }
    }

    private static void RemoveFolder(string folder)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort: a leftover is waste, not a failure of the load.
        }
    }

    private static string WriteInto(string folder, byte[] patched)
    {
        string target = Path.Combine(folder, LibraryFile);
        if (File.Exists(target) && File.ReadAllBytes(target).AsSpan().SequenceEqual(patched)) return target;

        string temp = Path.Combine(folder, $".{LibraryFile}.{Environment.ProcessId}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                stream.Write(patched);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, target, overwrite: true);
        }
        finally
        {
            File.Delete(temp);
        }
        return target;
    }

    private static string CacheRoot()
    {
        string? configured = Environment.GetEnvironmentVariable("VITSHARP_NATIVE_CACHE");
        if (!string.IsNullOrEmpty(configured)) return configured;
        string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        if (!string.IsNullOrEmpty(xdg)) return Path.Combine(xdg, "vitsharp");
        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        if (string.IsNullOrEmpty(home)) throw new IOException("no home folder for a cache");
        return Path.Combine(home, ".cache", "vitsharp");
    }

    /// <summary>The folders .NET probes for native libraries of this app, then TorchSharp's own folder.</summary>
    private static string? FindShippedLibrary()
    {
        var folders = new List<string>();
        if (AppContext.GetData("NATIVE_DLL_SEARCH_DIRECTORIES") is string probing)
            folders.AddRange(probing.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries));
        folders.Add(AppContext.BaseDirectory);
        folders.Add(Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native"));
        string torchSharpFolder = Path.GetDirectoryName(typeof(TorchSharp.torch).Assembly.Location) ?? "";
        folders.Add(torchSharpFolder);
        folders.Add(Path.Combine(torchSharpFolder, "runtimes", "linux-x64", "native"));
        return folders.Select(f => Path.Combine(f, LibraryFile)).FirstOrDefault(File.Exists);
    }

    private static string FirstLine(string text) => text.Split('\n', 2)[0].Trim();

    // glibc: "/usr/lib/x86_64-linux-gnu/libstdc++.so.6: version `GLIBCXX_3.4.32' not found (required by /x/libLibTorchSharp.so)"
    [GeneratedRegex(@"(?<provider>/\S*libstdc\+\+\.so\.6): version .(?<version>GLIBCXX_[0-9.]+|CXXABI_[0-9.]+). not found \(required by (?<required>[^)]+)\)")]
    private static partial Regex MissingVersionPattern();
}
