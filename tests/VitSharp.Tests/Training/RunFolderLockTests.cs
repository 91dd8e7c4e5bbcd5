using VitSharp.Training;
using static VitSharp.Tests.Cli.CliRun;

namespace VitSharp.Tests.Training;

/// <summary>One trainer per run folder, and a killed run's temporary checkpoints removed, never a complete one.</summary>
public sealed class RunFolderLockTests : IDisposable
{
    private readonly string work = Directory.CreateTempSubdirectory("vitsharp-lock-").FullName;

    public void Dispose() => Directory.Delete(work, recursive: true);

    private string[] TrainArgs(string outDir, params string[] extra)
    {
        string config = Path.Combine(work, "tiny.json");
        File.WriteAllText(config, """{"img_size": 28, "patch_size": 7, "embed_dim": 16, "depth": 1, "num_heads": 2}""");
        return ["train", "--dataset", "fashion-mnist:sample", "--config", config, "--out", outDir, "--epochs", "1", "--batch", "16",
            "--limit-train", "32", "--limit-test", "16", "--workers", "0", .. extra];
    }

    [Fact]
    public void A_second_trainer_on_a_folder_in_use_is_refused_with_the_holders_pid()
    {
        string run = Path.Combine(work, "run");
        Directory.CreateDirectory(run);
        using (RunFolderLock.Acquire(run))
        {
            var e = Assert.Throws<InvalidOperationException>(() => RunFolderLock.Acquire(run));
            Assert.Contains($"process {Environment.ProcessId}", e.Message);
            var (code, _, err) = Run(TrainArgs(run));
            Assert.NotEqual(0, code);
            Assert.Contains("is in use by another training run", err);
            Assert.False(File.Exists(Path.Combine(run, "checkpoint.safetensors")));
        }
        // Released: the folder trains now.
        var (after, _, afterErr) = Run(TrainArgs(run));
        Assert.True(after == 0, afterErr);
        Assert.False(File.Exists(Path.Combine(run, RunFolderLock.HolderFileName)));
    }

    [Fact]
    public void Leftover_temporary_checkpoints_are_removed_on_resume_and_complete_files_kept()
    {
        string run = Path.Combine(work, "run");
        var (code, _, err) = Run(TrainArgs(run));
        Assert.True(code == 0, err);
        string checkpoint = Path.Combine(run, "checkpoint.safetensors");
        byte[] complete = File.ReadAllBytes(checkpoint);
        string leftover = Path.Combine(run, $".checkpoint.next.safetensors.{Guid.NewGuid():N}.tmp");
        string notOurs = Path.Combine(run, ".notes.tmp");
        File.WriteAllBytes(leftover, [1, 2, 3]);
        File.WriteAllBytes(notOurs, [4]);

        (code, _, err) = Run(TrainArgs(run, "--resume"));
        Assert.True(code == 0, err);
        Assert.False(File.Exists(leftover));
        Assert.True(File.Exists(notOurs));
        Assert.Equal(complete, File.ReadAllBytes(checkpoint)); // the run had ended: resuming it trains nothing more
    }

    [Fact]
    public void Resuming_a_missing_folder_fails_and_creates_nothing()
    {
        string run = Path.Combine(work, "missing");
        var (code, _, err) = Run(TrainArgs(run, "--resume"));
        Assert.NotEqual(0, code);
        Assert.Contains("nothing to resume", err);
        Assert.False(Directory.Exists(run));
    }
}
