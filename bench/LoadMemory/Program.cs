using System.Diagnostics;
using System.Globalization;
using VitSharp.Bench.LoadMemory;
using VitSharp.Native;

// "LoadMemory [base|large]": write a ViT-B/16- or ViT-L/16-sized checkpoint (and, when Debian's python3-torch is
// there, the same weights saved by torch.save), then measure each scenario in a fresh process.
// "measure <scenario> <path> <size>": the child that measures one scenario.
TorchRuntime.EnsureLoaded();

if (args is ["measure", string scenario, string path, string size])
{
    Scenarios.Run(scenario, path, VitCheckpointShape.Parse(size));
    return 0;
}
if (args.Length > 1 || (args.Length == 1 && args[0] is not ("base" or "large")))
{
    Console.Error.WriteLine("usage: LoadMemory [base|large]   (writes temporary checkpoints and measures every scenario)");
    return 2;
}

string sizeName = args.Length == 1 ? args[0] : "base";
var shape = VitCheckpointShape.Parse(sizeName);
string folder = Directory.CreateTempSubdirectory("vitsharp-loadmemory-").FullName;
try
{
    string checkpoint = Path.Combine(folder, $"{shape.Name}.safetensors");
    shape.Write(checkpoint);
    long fileBytes = new FileInfo(checkpoint).Length;
    Console.WriteLine($"{shape.Name}: {shape.Parameters().Count()} tensors, {Mib(fileBytes)} MiB");
    Console.WriteLine($"{"scenario",-20} {"seconds",8} {"baseline MiB",13} {"peak MiB",9} {"peak - baseline",16} {"÷ file size",12}");
    var runs = Scenarios.Names.Select(n => (Label: n, Scenario: n, Path: checkpoint)).ToList();
    if (SaveWithTorch(checkpoint, Path.Combine(folder, $"{shape.Name}.pth")) is { } pth)
        runs.Add(("loader (.pth)", "loader", pth));
    foreach (var (label, name, file) in runs)
    {
        string[] result = MeasureInChild(name, file, sizeName).Split(' ');
        long baseline = long.Parse(result[2], CultureInfo.InvariantCulture), peak = long.Parse(result[3], CultureInfo.InvariantCulture);
        Console.WriteLine($"{label,-20} {result[1],8} {Mib(baseline),13} {Mib(peak),9} {Mib(peak - baseline),16} {(peak - baseline) / (double)fileBytes,12:F2}");
    }
    return 0;
}
finally
{
    Directory.Delete(folder, recursive: true);
}

static string Mib(long bytes) => (bytes / (1024.0 * 1024.0)).ToString("F0", CultureInfo.InvariantCulture);

// The same weights written by real PyTorch (torch.save, zip format), or null when Debian's python3-torch is absent.
static string? SaveWithTorch(string safetensors, string pth)
{
    // The script imports tools/fixtures, so run it from the repository, found above the build output.
    var repo = new DirectoryInfo(AppContext.BaseDirectory);
    while (repo is not null && !File.Exists(Path.Combine(repo.FullName, "bench", "LoadMemory", "to_pth.py"))) repo = repo.Parent;
    if (repo is null) return null;
    string script = Path.Combine(repo.FullName, "bench", "LoadMemory", "to_pth.py");
    try
    {
        using Process python = Process.Start(new ProcessStartInfo("/usr/bin/python3", [script, safetensors, pth]) { RedirectStandardError = true })!;
        string error = python.StandardError.ReadToEnd();
        python.WaitForExit();
        if (python.ExitCode == 0) return pth;
        Console.WriteLine($"(no .pth run: to_pth.py failed: {error.Trim().Split('\n')[^1]})");
    }
    catch (System.ComponentModel.Win32Exception)
    {
        Console.WriteLine("(no .pth run: /usr/bin/python3 not found)");
    }
    return null;
}

static string MeasureInChild(string scenario, string checkpoint, string size)
{
    // Under "dotnet LoadMemory.dll" the process is the dotnet host, which needs the assembly path first.
    string self = Environment.ProcessPath!;
    var start = new ProcessStartInfo(self) { RedirectStandardOutput = true };
    if (Path.GetFileNameWithoutExtension(self) == "dotnet") start.ArgumentList.Add(typeof(Scenarios).Assembly.Location);
    foreach (string arg in new[] { "measure", scenario, checkpoint, size }) start.ArgumentList.Add(arg);

    using Process child = Process.Start(start)!;
    string output = child.StandardOutput.ReadToEnd().Trim();
    child.WaitForExit();
    if (child.ExitCode != 0) throw new InvalidOperationException($"The {scenario} measurement of {checkpoint} exited with {child.ExitCode}.");
    return output.Split('\n')[^1];
}
