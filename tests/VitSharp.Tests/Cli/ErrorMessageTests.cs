using VitSharp.IO;
using static TorchSharp.torch;
using static VitSharp.Tests.Cli.CliRun;

namespace VitSharp.Tests.Cli;

/// <summary>Errors that say what is wrong: the value, the option, and no .NET parameter text.</summary>
public sealed class ErrorMessageTests : IDisposable
{
    private readonly string work = Directory.CreateTempSubdirectory("vitsharp-messages-").FullName;

    public void Dispose() => Directory.Delete(work, recursive: true);

    private static string Refused((int Code, string Out, string Err) run)
    {
        Assert.NotEqual(0, run.Code);
        string line = Assert.Single(run.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.DoesNotContain("(Parameter", line);
        return line;
    }

    [Fact]
    public void Each_message_names_what_is_wrong()
    {
        string[] model = ["--weights", Fixtures.Path_("models", "vit_timm_p8.weights.safetensors"), "--config", Fixtures.Path_("models", "vit_timm_p8.json")];
        string tiny = Path.Combine(work, "tiny.safetensors");
        using (var x = zeros(1, 3, 1, 1)) SafeTensors.Write(tiny, new Dictionary<string, Tensor> { ["input"] = x });
        Assert.Contains("input size 1x1 is smaller than one 8x8 patch", Refused(Run(["forward", .. model, "--input", tiny, "--out", Path.Combine(work, "f.safetensors")])));

        string table = Path.Combine(work, "table.safetensors");
        using (var t = zeros(1, 50, 8)) SafeTensors.Write(table, new Dictionary<string, Tensor> { ["pos_embed"] = t });
        Assert.Contains("--prefix-tokens 100 leaves no patch tokens in a table of 50 rows", Refused(Run("posembed", "resample", "--in", table,
            "--grid", "10x10", "--prefix-tokens", "100", "--style", "timm", "--out", Path.Combine(work, "t.safetensors"))));

        Assert.Contains("--label-smoothing must be in [0, 1), got 2", Refused(Run("train", "--dataset", "fashion-mnist:sample", "--arch", "vit_seed",
            "--out", Path.Combine(work, "run"), "--label-smoothing", "2")));
        Assert.False(Directory.Exists(Path.Combine(work, "run")));

        Assert.Contains($"image '{work}' is a folder; give one file", Refused(Run("attention", work, "--out", Path.Combine(work, "a"))));
    }

    [Fact]
    public void Num_heads_replaces_only_the_head_count_of_the_config_beside_the_checkpoint()
    {
        string image = VitSharp.Tests.Inference.TestImages.Png(work, "x.png", 64, 48, 1);
        var (code, stdout, err) = Run("classify", image, "--num-heads", "4", "--top-k", "1"); // the shipped model has 4
        Assert.True(code == 0, err);
        Assert.Contains("%", stdout);
        Assert.Contains("embed_dim 64 is not divisible by num_heads 3", Refused(Run("classify", image, "--num-heads", "3")));
    }
}
