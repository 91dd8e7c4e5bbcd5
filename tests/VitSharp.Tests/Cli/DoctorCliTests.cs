using System.Text.Json.Nodes;
using static VitSharp.Tests.Cli.CliRun;

namespace VitSharp.Tests.Cli;

/// <summary><c>vitsharp doctor</c>: the machine, every kernel against libtorch, and an exit code that says whether Auto's kernels agree.</summary>
[Trait("Category", "Kernels")]
public class DoctorCliTests
{
    [Fact]
    public void Quick_json_describes_the_machine_and_every_check_and_exits_0_when_auto_kernels_agree()
    {
        var (code, stdout, err) = Run("doctor", "--quick", "--json");
        var report = JsonNode.Parse(stdout)!.AsObject();
        bool agree = (bool)report["auto_kernels_agree"]!;
        Assert.Equal(agree ? 0 : 1, code);
        if (!agree) Assert.Contains("disagree with libtorch", err);
        var machine = report["machine"]!.AsObject();
        foreach (string key in new[] { "cpu", "cpu_family", "instruction_sets", "onednn_isa", "threads", "libtorch", "torchsharp" })
            Assert.True(machine.ContainsKey(key), $"missing machine.{key}");
        var checks = report["checks"]!.AsArray();
        if (!VitSharp.Kernels.OneDnnLinear.IsAvailable) return; // not x86-64: only libtorch's fused attention is listed
        Assert.True(checks.Count > 50, $"{checks.Count} checks");
        foreach (var check in checks)
        {
            foreach (string key in new[] { "kernel", "signature", "max_error", "worst_ratio", "agrees", "used_by_auto", "check_ms", "where" })
                Assert.True(check!.AsObject().ContainsKey(key), $"missing {key}");
        }
        Assert.Equal(agree, checks.All(c => !(bool)c!["used_by_auto"]! || (bool)c["agrees"]!));
    }

    [Fact]
    public void The_table_names_the_cpu_and_says_what_auto_uses()
    {
        var (code, stdout, err) = Run("doctor", "--quick");
        Assert.True(code is 0 or 1, err);
        Assert.Contains("oneDNN ISA", stdout);
        Assert.Contains("cpu family", stdout);
        Assert.Contains("summary", stdout);
        Assert.Contains(code == 0 ? "every kernel Auto uses agrees with libtorch on this machine" : "VitSharp computes libtorch's path there instead", stdout);
    }

    [Fact]
    public void A_thread_count_out_of_range_is_refused()
    {
        var (code, _, err) = Run("doctor", "--quick", "--threads", "0");
        Assert.Equal(1, code);
        Assert.Contains("--threads must be between 1 and", err);
    }
}
