using VitSharp.Native;

namespace VitSharp.Tests.Native;

/// <summary>The check that decides whether TorchSharp's native library may be patched, on the real shipped library.</summary>
public class LibTorchSharpCompatTests
{
    private const string MissingVersion = "GLIBCXX_3.4.32";

    private static string ShippedLibrary()
    {
        string[] candidates =
        [
            Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so"),
            Path.Combine(AppContext.BaseDirectory, "libLibTorchSharp.so"),
        ];
        return candidates.First(File.Exists);
    }

    /// <summary>The libstdc++ this system has (GCC 12's on Debian 12).</summary>
    private static ElfSymbolVersions SystemLibStdCxx() => ElfSymbolVersions.Read(FindSystemLibStdCxx());

    private static string FindSystemLibStdCxx() =>
        new[] { "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6" }.First(File.Exists);

    [Fact]
    public void Only_the_link_time_symbol_is_bound_to_the_new_version()
    {
        var library = ElfSymbolVersions.Read(ShippedLibrary());
        var need = Assert.Single(library.Needed, n => n.File == LibTorchSharpCompat.LibStdCxx && n.Name == MissingVersion);
        Assert.Equal(["_ZSt21ios_base_library_initv"], need.Symbols);
        Assert.Contains("libtorch_cpu.so", library.NeededLibraries);
    }

    [Fact]
    public void Accepts_the_known_case_and_patches_only_that_requirement()
    {
        var library = ElfSymbolVersions.Read(ShippedLibrary());
        var system = SystemLibStdCxx();
        var toWeaken = LibTorchSharpCompat.VersionsToWeaken(library, system);
        if (system.Defined.Contains(MissingVersion))
        {
            Assert.Empty(toWeaken); // a new enough libstdc++: nothing to patch
            Assert.Null(TorchRuntime.PatchedLibraryPath);
            return;
        }
        var weakened = Assert.Single(toWeaken);
        Assert.Equal(MissingVersion, weakened.Name);

        byte[] patched = LibTorchSharpCompat.Weaken(File.ReadAllBytes(ShippedLibrary()), toWeaken);
        var reread = ElfSymbolVersions.Parse(patched, "patched");
        Assert.All(reread.Needed, n => Assert.Equal(n.Name == MissingVersion, n.IsWeak));
        Assert.NotNull(TorchRuntime.PatchedLibraryPath); // and this very test process runs on the patched copy
    }

    [Fact]
    public void Refuses_a_library_with_other_symbols_under_the_missing_version()
    {
        byte[] bytes = File.ReadAllBytes(ShippedLibrary());
        var library = ElfSymbolVersions.Parse(bytes, "original");
        var missing = library.Needed.Single(n => n.Name == MissingVersion);
        // Rebind one ordinary libstdc++ symbol to the missing version, as a library that really used GCC 13 code would be.
        var victim = library.VersionedSymbols.First(s => s.Index != missing.Index && s.Symbol.StartsWith("_ZNSt", StringComparison.Ordinal));
        bytes[victim.VersymOffset] = (byte)missing.Index;
        bytes[victim.VersymOffset + 1] = (byte)(missing.Index >> 8);
        var tampered = ElfSymbolVersions.Parse(bytes, "tampered");

        var providerWithoutVersion = SystemLibStdCxxWithout(MissingVersion);
        var error = Assert.Throws<TorchNativeLoadException>(() => LibTorchSharpCompat.VersionsToWeaken(tampered, providerWithoutVersion));
        Assert.Contains(victim.Symbol, error.Message);
        Assert.Contains("GCC 13", error.Message);
    }

    [Fact]
    public void Rejects_files_that_are_not_elf()
    {
        var error = Assert.Throws<InvalidDataException>(() => ElfSymbolVersions.Parse("not an elf file at all, just text......................................"u8, "text.so"));
        Assert.Contains("missing ELF magic", error.Message);
        byte[] truncated = File.ReadAllBytes(ShippedLibrary())[..4096];
        Assert.Throws<InvalidDataException>(() => ElfSymbolVersions.Parse(truncated, "truncated.so"));
    }

    /// <summary>The system libstdc++'s versions, minus one: so the refusal test holds on any system.</summary>
    private static ElfSymbolVersions SystemLibStdCxxWithout(string version)
    {
        var system = SystemLibStdCxx();
        return system.Defined.Contains(version) ? ElfSymbolVersions.WithDefined(system.Defined.Where(d => d != version)) : system;
    }

    [Fact]
    public void Without_a_writable_cache_the_private_copy_is_removed_once_loaded()
    {
        string temp = Directory.CreateTempSubdirectory("vitsharp-tmpdir-").FullName;
        try
        {
            string home = Path.Combine(temp, "home-is-a-file");
            File.WriteAllText(home, "");
            string output = Path.Combine(temp, "out.safetensors");
            var start = new System.Diagnostics.ProcessStartInfo("dotnet",
                [Path.Combine(AppContext.BaseDirectory, "VitSharp.Cli.dll"), "forward", "--weights", Fixtures.Path_("models", "vit_timm_p8.weights.safetensors"),
                 "--config", Fixtures.Path_("models", "vit_timm_p8.json"), "--input", Fixtures.Path_("models", "vit_timm_p8.io.safetensors"),
                 "--input-key", "input.32x32", "--out", output])
            { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
            start.Environment["HOME"] = home;
            start.Environment["XDG_CACHE_HOME"] = "";
            start.Environment["VITSHARP_NATIVE_CACHE"] = "";
            start.Environment["TMPDIR"] = temp;
            using var process = System.Diagnostics.Process.Start(start)!;
            string err = process.StandardError.ReadToEnd();
            process.StandardOutput.ReadToEnd();
            Assert.True(process.WaitForExit(TimeSpan.FromMinutes(2)), "forward did not finish");
            Assert.True(process.ExitCode == 0, err);
            Assert.True(File.Exists(output));
            Assert.Empty(Directory.GetDirectories(temp, "vitsharp-native-*"));
        }
        finally
        {
            Directory.Delete(temp, recursive: true);
        }
    }
}
