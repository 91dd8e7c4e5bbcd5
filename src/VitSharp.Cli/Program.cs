using VitSharp.Native;

namespace VitSharp.Cli;

public static class Program
{
    public static int Main(string[] args)
    {
        // This process is ours: keep freed tensor memory for reuse (NativeHeap explains why and what it costs).
        NativeHeap.KeepFreedMemory();
        return CliApp.Run(args, Console.Out, Console.Error);
    }
}
