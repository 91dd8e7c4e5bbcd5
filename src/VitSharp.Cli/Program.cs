using VitSharp.Native;

namespace VitSharp.Cli;

public static class Program
{
    public static int Main(string[] args)
    {
        // This process is ours: keep freed tensor memory for reuse (NativeHeap explains why and what it costs).
        // VITSHARP_KEEP_FREED_MEMORY=0 leaves glibc's defaults, for a machine short of memory.
        if (Environment.GetEnvironmentVariable("VITSHARP_KEEP_FREED_MEMORY") != "0") NativeHeap.KeepFreedMemory();
        return CliApp.Run(args, Console.Out, Console.Error);
    }
}
