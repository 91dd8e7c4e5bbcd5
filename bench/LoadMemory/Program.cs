using System.Diagnostics;
using System.Globalization;
using VitSharp.Bench.LoadMemory;
using VitSharp.Native;

// Without arguments: write a ViT-B/16-sized checkpoint, then measure each scenario in a fresh process.
// With "measure <scenario> <path>": the child that measures one scenario.
TorchRuntime.EnsureLoaded();

if (args is ["measure", string scenario, string path])
{
    Scenarios.Run(scenario, path);
    return 0;
}
if (args.Length != 0)
{
    Console.Error.WriteLine("usage: LoadMemory              (writes a temporary checkpoint and measures every scenario)");
    return 2;
}

string folder = Directory.CreateTempSubdirectory("vitsharp-loadmemory-").FullName;
try
{
    string checkpoint = Path.Combine(folder, "vit_base_patch16_224.safetensors");
    VitB16Checkpoint.Write(checkpoint);
    long fileBytes = new FileInfo(checkpoint).Length;
    Console.WriteLine($"checkpoint: {VitB16Checkpoint.Parameters().Count()} tensors, {Mib(fileBytes)} MiB");
    Console.WriteLine($"{"scenario",-12} {"seconds",8} {"baseline MiB",13} {"peak MiB",9} {"peak - baseline",16}");
    foreach (string name in Scenarios.Names)
    {
        string[] result = MeasureInChild(name, checkpoint).Split(' ');
        long baseline = long.Parse(result[2], CultureInfo.InvariantCulture), peak = long.Parse(result[3], CultureInfo.InvariantCulture);
        Console.WriteLine($"{name,-12} {result[1],8} {Mib(baseline),13} {Mib(peak),9} {Mib(peak - baseline),16}");
    }
    return 0;
}
finally
{
    Directory.Delete(folder, recursive: true);
}

static string Mib(long bytes) => (bytes / (1024.0 * 1024.0)).ToString("F0", CultureInfo.InvariantCulture);

static string MeasureInChild(string scenario, string checkpoint)
{
    // Under "dotnet LoadMemory.dll" the process is the dotnet host, which needs the assembly path first.
    string self = Environment.ProcessPath!;
    var start = new ProcessStartInfo(self) { RedirectStandardOutput = true };
    if (Path.GetFileNameWithoutExtension(self) == "dotnet") start.ArgumentList.Add(typeof(Scenarios).Assembly.Location);
    foreach (string arg in new[] { "measure", scenario, checkpoint }) start.ArgumentList.Add(arg);

    using Process child = Process.Start(start)!;
    string output = child.StandardOutput.ReadToEnd().Trim();
    child.WaitForExit();
    if (child.ExitCode != 0) throw new InvalidOperationException($"The {scenario} measurement exited with {child.ExitCode}.");
    return output.Split('\n')[^1];
}
