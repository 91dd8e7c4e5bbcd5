using SharpFuzz;
using VitSharp.Fuzz;
using VitSharp.Native;

// VitSharp.Fuzz <target>                                  AFL (out of process), reading inputs from AFL
// VitSharp.Fuzz <target> --libfuzzer                      libFuzzer, through libfuzzer-dotnet
// VitSharp.Fuzz <target> --mutate N [--seed S] PATH...    N seeded mutations of the files (or folders) in-process
// VitSharp.Fuzz <target> --run PATH...                    runs saved inputs once each, to reproduce a finding
TorchRuntime.EnsureLoaded();

if (args.Length == 0 || !FuzzTarget.All.TryGetValue(args[0], out FuzzTarget? target))
{
    Console.Error.WriteLine($"usage: VitSharp.Fuzz <target> [--libfuzzer | --mutate N [--seed S] PATH... | --run PATH...]; targets: {string.Join(", ", FuzzTarget.All.Keys)}");
    return 2;
}

switch (args[1..])
{
    case []:
        Fuzzer.OutOfProcess.Run(stream => target.Run(stream));
        return 0;
    case ["--libfuzzer"]:
        Fuzzer.LibFuzzer.Run(span => target.Run(new MemoryStream(span.ToArray(), writable: false)));
        return 0;
    case ["--mutate", string count, .. string[] rest]:
        return Mutate(target, int.Parse(count), rest);
    case ["--run", .. string[] paths]:
        return Reproduce(target, paths);
    default:
        Console.Error.WriteLine($"unknown options: {string.Join(' ', args[1..])}");
        return 2;
}

static int Mutate(FuzzTarget target, int count, string[] rest)
{
    int seed = 0;
    if (rest is ["--seed", string s, .. var paths]) (seed, rest) = (int.Parse(s), paths);
    var seeds = InputFiles(rest).Select(File.ReadAllBytes).ToList();
    var clock = System.Diagnostics.Stopwatch.StartNew();
    CampaignResult result = MutationCampaign.Run(target, seeds, count, seed);
    Console.WriteLine($"{count} mutations of {seeds.Count} files (seed {seed}) in {clock.Elapsed.TotalSeconds:F1} s: {result.Accepted} read, {result.Refused} refused as documented, {result.Findings.Count} findings");

    string folder = Path.Combine(Environment.CurrentDirectory, "fuzz-findings", target.Name);
    foreach (Finding finding in result.Findings)
    {
        Directory.CreateDirectory(folder);
        string path = Path.Combine(folder, Convert.ToHexString(System.Security.Cryptography.SHA1.HashData(finding.Input))[..16]);
        File.WriteAllBytes(path, finding.Input);
        Console.WriteLine($"{path}: {finding.Problem}");
    }
    return result.Findings.Count == 0 ? 0 : 1;
}

static int Reproduce(FuzzTarget target, string[] paths)
{
    int bad = 0;
    foreach (string path in InputFiles(paths))
    {
        bool? outcome = MutationCampaign.RunOne(target, File.ReadAllBytes(path), out string? problem);
        if (problem is not null) bad++;
        Console.WriteLine($"{path}: {problem ?? (outcome == true ? "read" : "refused as documented")}");
    }
    return bad == 0 ? 0 : 1;
}

static IEnumerable<string> InputFiles(IEnumerable<string> paths) =>
    paths.SelectMany(p => Directory.Exists(p) ? Directory.EnumerateFiles(p).Order() : (IEnumerable<string>)[p]);
