using System.Runtime.InteropServices;

namespace VitSharp.Native;

/// <summary>
/// Keeps freed tensor memory in the process for the next pass instead of handing it back to the kernel.
/// <para>
/// libtorch allocates every intermediate tensor with <c>malloc</c>. glibc serves blocks above its mmap threshold with
/// fresh mappings and unmaps them on free, and trims the heap's top when more than its trim threshold is free, so a
/// ViT's activations (a ViT-B/16 MLP hidden layer at batch 8 is 19 MB) are page-faulted in again on every forward
/// pass. glibc raises the mmap threshold on its own as large blocks are freed, but only up to the size it has seen.
/// Fixing both thresholds made whole forward passes faster at the same peak memory (docs/inference.md, "Speed", has
/// the measurements); neither threshold alone helped.
/// </para>
/// <para>
/// The cost is memory: up to <see cref="TrimThresholdBytes"/> of freed memory stays mapped, and blocks up to
/// <see cref="MmapThresholdBytes"/> come from the heap, where fragmentation can keep more. The settings are
/// process-wide, so the library never applies them by itself: the <c>vitsharp</c> command does at start-up (unless
/// <c>VITSHARP_KEEP_FREED_MEMORY=0</c>), and a program calls <see cref="KeepFreedMemory"/> once if it wants the same. The environment variables
/// <c>MALLOC_MMAP_THRESHOLD_</c> and <c>MALLOC_TRIM_THRESHOLD_</c> do the same for any program on glibc.
/// </para>
/// </summary>
public static class NativeHeap
{
    /// <summary>Blocks up to this size come from the heap and are reused (32 MiB, the most glibc accepts on 64-bit).</summary>
    public const int MmapThresholdBytes = 32 << 20;

    /// <summary>The heap keeps up to this much freed memory at its top before giving any back (64 MiB).</summary>
    public const int TrimThresholdBytes = 64 << 20;

    // glibc's mallopt parameters (malloc.h).
    private const int MTrimThreshold = -1;
    private const int MMmapThreshold = -3;

    /// <summary>
    /// Sets both thresholds for this process, unless it runs on another C library than glibc or the environment
    /// already sets either (the user's choice wins). Returns whether they were set.
    /// </summary>
    public static bool KeepFreedMemory()
    {
        if (!OperatingSystem.IsLinux()) return false;
        if (Environment.GetEnvironmentVariable("MALLOC_MMAP_THRESHOLD_") is not null
            || Environment.GetEnvironmentVariable("MALLOC_TRIM_THRESHOLD_") is not null) return false;
        try
        {
            // mallopt returns 1 on success; musl's is a stub that returns 0.
            return mallopt(MMmapThreshold, MmapThresholdBytes) == 1 && mallopt(MTrimThreshold, TrimThresholdBytes) == 1;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

#pragma warning disable SYSLIB1054 // int in, int out: nothing to marshal, and the project allows no unsafe code that LibraryImport needs.
    [DllImport("libc", EntryPoint = "mallopt")]
    private static extern int mallopt(int param, int value);
#pragma warning restore SYSLIB1054
}
