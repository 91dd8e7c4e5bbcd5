using System.Text.Json.Nodes;
using VitSharp.Cli;
using static VitSharp.Tests.Cli.CliRun;

namespace VitSharp.Tests.Training;

/// <summary><c>vitsharp train</c> and <c>eval</c> in-process on 64 images of the bundled Fashion-MNIST sample.</summary>
public sealed class TrainCliTests : IDisposable
{
    private readonly string work = Directory.CreateTempSubdirectory("vitsharp-train-cli-").FullName;

    public void Dispose() => Directory.Delete(work, recursive: true);

    [Fact]
    public void Train_one_epoch_writes_the_run_folder_and_eval_reports_json()
    {
        string config = Path.Combine(work, "tiny.json");
        File.WriteAllText(config, """{"img_size": 28, "patch_size": 7, "embed_dim": 16, "depth": 1, "num_heads": 2}""");
        string outDir = Path.Combine(work, "run");
        var (code, stdout, err) = Run("train", "--dataset", "fashion-mnist:sample", "--config", config, "--out", outDir, "--epochs", "1",
            "--batch", "16", "--limit-train", "64", "--limit-test", "64", "--ema", "0.99", "--workers", "0");
        Assert.True(code == 0, err);
        Assert.Contains("epoch 1:", stdout);
        foreach (string file in new[] { "checkpoint.safetensors", "metrics.csv", "curves.png", "model.safetensors", "model.json", "model_ema.safetensors" })
            Assert.True(File.Exists(Path.Combine(outDir, file)), file);
        Assert.StartsWith("epoch,step,lr,train_loss", File.ReadAllLines(Path.Combine(outDir, "metrics.csv"))[0]);

        var (evalCode, evalOut, evalErr) = Run("eval", "--weights", Path.Combine(outDir, "model.safetensors"), "--dataset", "fashion-mnist:sample",
            "--limit", "64", "--size", "35x21", "--json");
        Assert.True(evalCode == 0, evalErr);
        var result = JsonNode.Parse(evalOut)!.AsObject();
        foreach (string key in new[] { "accuracy", "count", "images_per_s", "size", "style" }) Assert.True(result.ContainsKey(key), key);
        Assert.Equal(64, (int)result["count"]!);
        Assert.Equal("35x21", (string)result["size"]!);
    }

    [Fact]
    public void Multi_resolution_and_zoom_training_runs_and_bad_sizes_or_factors_are_refused_before_training()
    {
        string config = Path.Combine(work, "tiny.json");
        File.WriteAllText(config, """{"img_size": 28, "patch_size": 7, "embed_dim": 16, "depth": 1, "num_heads": 2}""");
        string[] Args(string outDir, params string[] extra) => ["train", "--dataset", "fashion-mnist:sample", "--config", config, "--out", outDir,
            "--epochs", "1", "--batch", "16", "--limit-train", "64", "--limit-test", "16", "--workers", "0", .. extra];

        var (code, stdout, err) = Run(Args(Path.Combine(work, "multi"), "--multi-res", "14", "42x21", "--multi-res-prob", "1", "--zoom", "2", "1.5", "--zoom-prob", "0.5"));
        Assert.True(code == 0, err);
        Assert.Contains("epoch 1:", stdout);

        string refusedDir = Path.Combine(work, "refused");
        (code, _, err) = Run(Args(refusedDir, "--multi-res", "30", "--multi-res-prob", "0.5"));
        Assert.Equal(CliApp.Failure, code);
        Assert.Contains("not divisible by the patch size 7", err);
        Assert.False(Directory.Exists(refusedDir));
        (code, _, err) = Run(Args(refusedDir, "--multi-res-prob", "0.5"));
        Assert.Equal(CliApp.Failure, code);
        Assert.Contains("--multi-res", err);
        (code, _, err) = Run(Args(refusedDir, "--zoom", "2"));
        Assert.Equal(CliApp.Failure, code);
        Assert.Contains("--zoom-prob", err);
        (code, _, err) = Run(Args(refusedDir, "--zoom", "0.5", "--zoom-prob", "0.5"));
        Assert.Equal(CliApp.Failure, code);
        Assert.Contains("zoom factors must be between 1 and 16", err);
        Assert.False(Directory.Exists(refusedDir));
    }

    /// <summary>The arguments of one quick epoch of a one-block ViT on 64 sample images, into <paramref name="outDir"/>, plus <paramref name="extra"/> (its config goes to <paramref name="work"/>).</summary>
    internal static string[] TinyOneEpoch(string work, string outDir, params string[] extra)
    {
        string config = Path.Combine(work, "tiny.json");
        File.WriteAllText(config, """{"img_size": 28, "patch_size": 7, "embed_dim": 16, "depth": 1, "num_heads": 2}""");
        return ["train", "--dataset", "fashion-mnist:sample", "--config", config, "--out", outDir,
            "--epochs", "1", "--batch", "16", "--limit-train", "64", "--limit-test", "16", "--workers", "0", .. extra];
    }

    [Fact]
    public void Bf16_training_runs_from_the_command_line_and_other_precisions_are_refused()
    {
        string[] Args(string outDir, string precision) => TinyOneEpoch(work, outDir, "--precision", precision);

        string outDir = Path.Combine(work, "bf16");
        var (code, stdout, err) = Run(Args(outDir, "bf16"));
        Assert.True(code == 0, err);
        Assert.Contains("testing on 16, bf16", err);
        Assert.Contains("epoch 1:", stdout);
        using (var weights = VitSharp.IO.SafeTensors.Read(Path.Combine(outDir, "model.safetensors")))
            Assert.Equal(TorchSharp.torch.ScalarType.Float32, weights.GetInfo("blocks.0.attn.qkv.weight").ScalarType);

        string refusedDir = Path.Combine(work, "fp16");
        (code, _, err) = Run(Args(refusedDir, "fp16"));
        Assert.Equal(CliApp.Failure, code);
        Assert.Contains("--precision must be fp32 or bf16, got 'fp16'", err);
        Assert.False(Directory.Exists(refusedDir));
    }

    [Fact]
    public void Linear_kernel_is_a_training_option_too()
    {
        string[] Args(string outDir, string kernel) => TinyOneEpoch(work, outDir, "--linear", kernel);

        var (code, stdout, err) = Run(Args(Path.Combine(work, "onednn"), "onednn"));
        Assert.True(code == 0, err);
        Assert.Contains("epoch 1:", stdout);
        (code, _, err) = Run(Args(Path.Combine(work, "mkl"), "mkl"));
        Assert.Equal(CliApp.Failure, code);
        Assert.Contains("--linear 'mkl' is not supported", err);
    }

    [Fact]
    public void Training_into_a_folder_with_a_checkpoint_without_resume_is_refused()
    {
        string outDir = Path.Combine(work, "run");
        string[] args = ["train", "--dataset", "fashion-mnist:sample", "--arch", "vit_tiny_patch16_224", "--img-size", "32", "--out", outDir,
            "--epochs", "1", "--batch", "16", "--limit-train", "16", "--limit-test", "16", "--workers", "0"];
        Directory.CreateDirectory(outDir);
        File.WriteAllText(Path.Combine(outDir, "checkpoint.safetensors"), "x");
        var (code, _, err) = Run(args);
        Assert.Equal(CliApp.Failure, code);
        Assert.Contains("already holds a training checkpoint", err);
    }
}
