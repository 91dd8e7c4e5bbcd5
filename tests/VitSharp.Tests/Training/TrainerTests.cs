using VitSharp.Training;
using static TorchSharp.torch;

namespace VitSharp.Tests.Training;

/// <summary>The training loop on a tiny in-memory dataset: it learns, it resumes bit for bit, it refuses damaged checkpoints.</summary>
[Collection(GlobalRngCollection.Name)]
public sealed class TrainerTests : IDisposable
{
    private readonly string work = Directory.CreateTempSubdirectory("vitsharp-train-").FullName;

    public void Dispose() => Directory.Delete(work, recursive: true);

    private sealed class Killed : Exception;

    [Fact]
    public void A_few_epochs_reduce_the_loss()
    {
        using var model = TinyTraining.Model();
        using var trainer = new Trainer(model, TinyTraining.Loader(64, mixup: 0), TinyTraining.Loader(32, mixup: 0),
            TinyTraining.Options(12) with { Lr = 3e-3, CheckpointInterval = TimeSpan.FromHours(1) },
            Path.Combine(work, "run"), ["left", "right"]);
        trainer.Run();

        Assert.Equal(12, trainer.History.Count);
        Assert.True(trainer.History[^1].TrainLoss < trainer.History[0].TrainLoss - 0.2, $"loss {trainer.History[0].TrainLoss} -> {trainer.History[^1].TrainLoss}");
        foreach (string file in new[] { "checkpoint.safetensors", "metrics.csv", "curves.png", "model.safetensors", "model.json", "model_ema.safetensors" })
            Assert.True(File.Exists(Path.Combine(work, "run", file)), file);
        Assert.Equal(13, File.ReadAllLines(Path.Combine(work, "run", "metrics.csv")).Length);
    }

    [Fact]
    public void A_run_killed_mid_epoch_resumes_bit_for_bit()
    {
        const int KillAfter = 6; // in the second epoch of 4 steps
        var (expectedLosses, expectedState) = Train(Path.Combine(work, "whole"), killAfter: null, resume: false);

        string dir = Path.Combine(work, "killed");
        var (firstLosses, _) = Train(dir, KillAfter, resume: false);
        Assert.Equal(KillAfter, firstLosses.Count);
        var (resumedLosses, resumedState) = Train(dir, killAfter: null, resume: true);

        Assert.Equal(expectedLosses, firstLosses.Concat(resumedLosses));
        Assert.Equal(expectedState.Keys, resumedState.Keys);
        foreach (var (name, t) in expectedState) Assert.True(t.shape.SequenceEqual(resumedState[name].shape) && t.eq(resumedState[name]).all().item<bool>(), $"{name} differs after resume");
    }

    [Fact]
    public void A_damaged_checkpoint_is_refused_and_the_previous_one_is_kept()
    {
        string dir = Path.Combine(work, "run");
        Train(dir, killAfter: 3, resume: false);
        string current = Path.Combine(dir, TrainingCheckpoint.FileName);
        string previous = Path.Combine(dir, TrainingCheckpoint.PreviousFileName);
        byte[] bytes = File.ReadAllBytes(current);
        bytes[^100] ^= 0x40; // inside the tensor data: the header still parses
        File.WriteAllBytes(current, bytes);

        var error = Assert.Throws<CheckpointCorruptException>(() => Train(dir, killAfter: null, resume: true));
        Assert.Contains("damaged", error.Message);
        Assert.Contains("SHA-256", error.Message);
        Assert.Contains(TrainingCheckpoint.PreviousFileName, error.Message);
        var (tensors, _) = TrainingCheckpoint.Read(previous);
        foreach (var t in tensors.Values) t.Dispose();

        File.WriteAllBytes(current, bytes[..(bytes.Length / 2)]);
        var truncated = Assert.Throws<CheckpointCorruptException>(() => TrainingCheckpoint.Load(dir));
        Assert.Contains("damaged", truncated.Message);
    }

    /// <summary>Two epochs (or until step <paramref name="killAfter"/>, "killed" by an exception), returning the step losses and every tensor at the end.</summary>
    private static (List<double> Losses, Dictionary<string, Tensor> State) Train(string dir, int? killAfter, bool resume)
    {
        var losses = new List<double>();
        using var model = TinyTraining.Model();
        using var trainer = new Trainer(model, TinyTraining.Loader(), null, TinyTraining.Options(2), dir, ["left", "right"]);
        trainer.OnStep = p =>
        {
            losses.Add(p.StepLoss);
            if (p.GlobalStep == killAfter) throw new Killed();
        };
        try
        {
            trainer.Run(resume);
        }
        catch (Killed)
        {
        }
        var state = model.state_dict().ToDictionary(kv => "model." + kv.Key, kv => kv.Value.clone());
        foreach (var (name, t) in trainer.Ema!.Model.state_dict()) state["ema." + name] = t.clone();
        foreach (var (name, t) in trainer.Optimizer.StateTensors("optim.")) state[name] = t.clone();
        return (losses, state);
    }
}
