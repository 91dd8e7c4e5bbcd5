using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using VitSharp.Kernels;
using static TorchSharp.torch;

namespace VitSharp.Cli.Commands;

/// <summary>
/// <c>vitsharp doctor</c>: the machine, then every fast kernel against libtorch's reference over the registry's shapes
/// (<see cref="KernelDoctor"/>), and whether the kernels <c>Auto</c> would use all agree (exit code 1 when one does not).
/// </summary>
internal static class DoctorCommand
{
    /// <summary>Exit code when a kernel that <c>Auto</c> would use disagrees with libtorch.</summary>
    public const int Disagreement = 1;

    public static Command Create(TextWriter output, TextWriter error)
    {
        var quick = new Option<bool>("--quick") { Description = "only ViT-S/16 and ViT-B/16 at 224 with heads of 10 to 21843 classes and the shapes that went wrong before (what the tests check); default: every registered model" };
        var threads = new Option<int?>("--threads") { Description = "intra-op threads to check at (default: libtorch's, one per core): a kernel is checked at the thread count it runs with" };
        var all = new Option<bool>("--all") { Description = "list every signature, not only the ones that disagree, failed, or that Auto uses" };
        var json = new Option<bool>("--json") { Description = "one JSON object with the machine and every check" };
        var command = new Command("doctor", "Check this machine: every fast kernel against libtorch's reference over the registry's shapes, and which ones Auto will use.")
        {
            quick, threads, all, json,
        };
        command.SetAction(r =>
        {
            CliApp.RequireTorch();
            if (r.GetValue(threads) is { } n)
            {
                SizeLimits.CheckThreads(n, "--threads");
                set_num_threads(n);
            }
            var size = r.GetValue(quick) ? SweepSize.Quick : SweepSize.Full;
            int total = KernelSweep.Entries(size).Count, done = 0;
            bool showProgress = ReferenceEquals(error, Console.Error) && !Console.IsErrorRedirected;
            var report = KernelDoctor.Run(size, new SynchronousProgress(row => { if (showProgress) error.Write($"\rchecking {++done}/{total} "); }));
            if (showProgress) error.Write("\r" + new string(' ', 30) + "\r");

            if (r.GetValue(json)) output.WriteLine(Json(report).ToJsonString(new JsonSerializerOptions { WriteIndented = false }));
            else WriteText(output, report, r.GetValue(all));
            if (report.AutoKernelsAgree) return 0;
            error.WriteLine($"vitsharp doctor: {report.AutoDisagreements.Count} signature(s) that Auto would give to a fast kernel disagree with libtorch; those run libtorch's path instead (correct, slower)");
            return Disagreement;
        });
        return command;
    }

    /// <summary>An <see cref="IProgress{T}"/> that reports on the calling thread (<see cref="Progress{T}"/> posts to the thread pool).</summary>
    private sealed class SynchronousProgress(Action<DoctorRow> report) : IProgress<DoctorRow>
    {
        public void Report(DoctorRow value) => report(value);
    }

    private static void WriteText(TextWriter output, DoctorReport report, bool all)
    {
        var m = report.Machine;
        output.WriteLine("machine");
        output.WriteLine($"  CPU               {m.CpuModel}{(m.CpuFamily is { } f ? $" (cpu family/model/stepping {f})" : "")}");
        output.WriteLine($"  instruction sets  {string.Join(' ', m.InstructionSets)}");
        output.WriteLine($"  oneDNN ISA        {m.OneDnnIsa}{(m.OneDnnIsaCap is { } cap ? $" (ONEDNN_MAX_CPU_ISA={cap})" : " (no ONEDNN_MAX_CPU_ISA cap)")}");
        output.WriteLine($"  threads           {m.Threads} (of {m.Cores} logical processors)");
        output.WriteLine($"  versions          libtorch {m.LibTorch}, TorchSharp {m.TorchSharp}, {m.Runtime}");
        output.WriteLine();

        var shown = report.Rows.Where(r => all || r.Entry.UsedByAuto || !r.Check.Agrees).ToList();
        output.WriteLine($"kernels against libtorch's reference ({report.Size.ToString().ToLowerInvariant()} sweep: {report.Rows.Count} signatures in {report.Elapsed.TotalSeconds:0.0} s; {(all ? "all" : $"{shown.Count} shown: those Auto uses and any that disagree; --all lists every one")})");
        output.WriteLine($"{"kernel",-24} {"signature",-50} {"max error",10} {"x tol",8}  {"verdict",-9} {"auto",-4}  where");
        foreach (var row in shown)
        {
            var c = row.Check;
            string verdict = c.Failure is not null ? "FAILED" : c.Agrees ? "agrees" : "DISAGREES";
            var where = row.Entry.Where;
            string at = where[0] + (where.Count > 1 ? $" (+{where.Count - 1})" : "");
            output.WriteLine($"{c.Kernel,-24} {c.Signature,-50} {Number(c.MaxError),10} {Number(c.WorstRatio),8}  {verdict,-9} {(row.Entry.UsedByAuto ? "yes" : "no"),-4}  {at}");
            if (c.Failure is not null) output.WriteLine($"{"",24}   {c.Failure}");
        }
        output.WriteLine();
        output.WriteLine("summary");
        foreach (var kernel in report.Rows.GroupBy(r => r.Check.Kernel))
        {
            int used = kernel.Count(r => r.Entry.UsedByAuto), agree = kernel.Count(r => r.Check.Agrees), usedAgree = kernel.Count(r => r.Entry.UsedByAuto && r.Check.Agrees);
            double worst = kernel.Where(r => r.Check.Agrees).Select(r => r.Check.WorstRatio).DefaultIfEmpty(0).Max();
            output.WriteLine($"  {kernel.Key,-24} {kernel.Count(),4} signatures, {agree} agree (worst {Number(worst)} of the tolerance); Auto uses it on {used}, of which {usedAgree} agree");
        }
        output.WriteLine(report.AutoKernelsAgree
            ? "every kernel Auto uses agrees with libtorch on this machine"
            : $"{report.AutoDisagreements.Count} signature(s) that Auto would give to a fast kernel disagree: VitSharp computes libtorch's path there instead");
    }

    private static string Number(double value) => double.IsNaN(value) ? "-" : double.IsPositiveInfinity(value) ? "inf" : value.ToString("0.##e+0", CultureInfo.InvariantCulture);

    private static JsonObject Json(DoctorReport report)
    {
        var m = report.Machine;
        return new JsonObject
        {
            ["machine"] = new JsonObject
            {
                ["cpu"] = m.CpuModel,
                ["cpu_family"] = m.CpuFamily,
                ["instruction_sets"] = new JsonArray([.. m.InstructionSets.Select(s => JsonValue.Create(s))]),
                ["onednn_isa"] = m.OneDnnIsa,
                ["onednn_max_cpu_isa"] = m.OneDnnIsaCap,
                ["cores"] = m.Cores,
                ["threads"] = m.Threads,
                ["libtorch"] = m.LibTorch,
                ["torchsharp"] = m.TorchSharp,
                ["runtime"] = m.Runtime,
            },
            ["sweep"] = report.Size.ToString().ToLowerInvariant(),
            ["seconds"] = Math.Round(report.Elapsed.TotalSeconds, 3),
            ["auto_kernels_agree"] = report.AutoKernelsAgree,
            ["checks"] = new JsonArray([.. report.Rows.Select(r => (JsonNode)new JsonObject
            {
                ["kernel"] = r.Check.Kernel,
                ["signature"] = r.Check.Signature,
                ["max_error"] = Finite(r.Check.MaxError),
                ["worst_ratio"] = Finite(r.Check.WorstRatio),
                ["agrees"] = r.Check.Agrees,
                ["used_by_auto"] = r.Entry.UsedByAuto,
                ["check_ms"] = Math.Round(r.Check.Elapsed.TotalMilliseconds, 2),
                ["failure"] = r.Check.Failure,
                ["where"] = new JsonArray([.. r.Entry.Where.Select(w => JsonValue.Create(w))]),
            })]),
        };
    }

    /// <summary>JSON has no NaN or infinity: those become null.</summary>
    private static double? Finite(double value) => double.IsFinite(value) ? value : null;
}
