using VitSharp.IO;
using VitSharp.Tests.Inference;
using static TorchSharp.torch;
using static VitSharp.Tests.Cli.CliRun;

namespace VitSharp.Tests.Cli;

/// <summary>Absurd sizes are refused with the value and the limit before any memory is asked for.</summary>
public sealed class SizeLimitsTests : IDisposable
{
    private readonly string work = Directory.CreateTempSubdirectory("vitsharp-limits-").FullName;

    public void Dispose() => Directory.Delete(work, recursive: true);

    private static void AssertRefused((int Code, string Out, string Err) run, params string[] phrases)
    {
        Assert.NotEqual(0, run.Code);
        var line = Assert.Single(run.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        foreach (string phrase in phrases) Assert.Contains(phrase, line);
        Assert.DoesNotContain("overflow", line);
    }

    [Fact]
    public void Model_input_and_table_sizes_beyond_the_token_limit_are_refused_by_value_and_limit()
    {
        string image = TestImages.Png(work, "x.png", 64, 48, 1);
        string limit = SizeLimits.MaxTokens.ToString("N0", System.Globalization.CultureInfo.InvariantCulture);
        AssertRefused(Run("classify", image, "--img-size", "16000"), "16,000,000 patches", limit);
        AssertRefused(Run("classify", image, "--img-size", "100000000"), "at most 1,048,576");
        AssertRefused(Run("classify", image, "--preset", "native", "--max-tokens", "1000000000"), "1,000,000,000", limit);
        AssertRefused(Run("preprocess", image, "--preset", "resize", "--size", "100000x100000", "--out", Path.Combine(work, "p.safetensors")),
            "10,000,000,000 pixels", "100,000,000");

        string table = Path.Combine(work, "table.safetensors");
        using (var t = zeros(1, 50, 8)) SafeTensors.Write(table, new Dictionary<string, Tensor> { ["pos_embed"] = t });
        AssertRefused(Run("posembed", "resample", "--in", table, "--grid", "100000x100000", "--from", "7x7", "--prefix-tokens", "1",
            "--style", "timm", "--out", Path.Combine(work, "t.safetensors")), "10,000,000,000 patches", limit);
    }

    [Fact]
    public void Thread_and_worker_counts_are_bounded_by_the_processors()
    {
        string config = Path.Combine(work, "tiny.json");
        File.WriteAllText(config, """{"img_size": 28, "patch_size": 7, "embed_dim": 16, "depth": 1, "num_heads": 2}""");
        string[] Train(params string[] extra) => ["train", "--dataset", "fashion-mnist:sample", "--config", config, "--out", Path.Combine(work, "run"),
            "--epochs", "1", "--batch", "16", "--limit-train", "32", "--limit-test", "16", .. extra];
        AssertRefused(Run(Train("--threads", "100000")), "--threads must be between 1 and", "got 100000");
        AssertRefused(Run(Train("--workers", "-1")), "--workers must be between 0 and", "got -1");
        Assert.False(Directory.Exists(Path.Combine(work, "run")));
    }
}
