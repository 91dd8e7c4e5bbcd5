using VitSharp.Native;

namespace VitSharp.Tests.Native;

/// <summary>The allocator settings the vitsharp command applies at start-up (glibc's mallopt).</summary>
[Collection(nameof(NativeHeapTests))] // it changes an environment variable for a moment
public class NativeHeapTests
{
    [Fact]
    public void Glibc_takes_both_thresholds_unless_the_environment_sets_its_own()
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.False(NativeHeap.KeepFreedMemory());
            return;
        }
        Assert.True(NativeHeap.KeepFreedMemory()); // Debian's glibc: mallopt accepts 32 MiB and 64 MiB
        Environment.SetEnvironmentVariable("MALLOC_TRIM_THRESHOLD_", "1048576");
        try
        {
            Assert.False(NativeHeap.KeepFreedMemory());
        }
        finally
        {
            Environment.SetEnvironmentVariable("MALLOC_TRIM_THRESHOLD_", null);
        }
    }
}
