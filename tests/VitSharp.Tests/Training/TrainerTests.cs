using VitSharp.Models;
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

    [Theory]
    [InlineData(Precision.Fp32)]
    [InlineData(Precision.Bf16)]
    public void A_run_killed_mid_epoch_resumes_bit_for_bit(Precision precision)
    {
        const int KillAfter = 6; // in the second epoch of 4 steps
        var (expectedLosses, expectedState) = Train(Path.Combine(work, "whole"), killAfter: null, resume: false, precision);

        string dir = Path.Combine(work, "killed");
        var (firstLosses, _) = Train(dir, KillAfter, resume: false, precision);
        Assert.Equal(KillAfter, firstLosses.Count);
        var (resumedLosses, resumedState) = Train(dir, killAfter: null, resume: true, precision);

        Assert.Equal(expectedLosses, firstLosses.Concat(resumedLosses));
        Assert.Equal(expectedState.Keys, resumedState.Keys);
        foreach (var (name, t) in expectedState) Assert.True(t.shape.SequenceEqual(resumedState[name].shape) && t.eq(resumedState[name]).all().item<bool>(), $"{name} differs after resume");
    }

    [Fact]
    public void Bf16_training_learns_with_float32_master_weights_and_tracks_fp32()
    {
        // The setup of A_few_epochs_reduce_the_loss, once per precision: same data, masks and schedule.
        (IReadOnlyList<EpochMetrics> History, Dictionary<string, Tensor> State) Run(Precision precision)
        {
            using var model = TinyTraining.Model();
            using var trainer = new Trainer(model, TinyTraining.Loader(64, mixup: 0), null,
                TinyTraining.Options(12) with { Lr = 3e-3, CheckpointInterval = TimeSpan.FromHours(1), Precision = precision },
                Path.Combine(work, precision.ToString()), ["left", "right"]);
            trainer.Run();
            var state = model.state_dict().ToDictionary(kv => "model." + kv.Key, kv => kv.Value.clone());
            foreach (var (name, t) in trainer.Optimizer.StateTensors("optim.")) state[name] = t.clone();
            return (trainer.History, state);
        }
        var (fp32History, fp32State) = Run(Precision.Fp32);
        var (bf16History, bf16State) = Run(Precision.Bf16);

        // It learns as float32 does: bfloat16 rounding (8 mantissa bits) moves each epoch's loss a little, not the run.
        Assert.True(bf16History[^1].TrainLoss < bf16History[0].TrainLoss - 0.2, $"bf16 loss {bf16History[0].TrainLoss} -> {bf16History[^1].TrainLoss}");
        for (int i = 0; i < fp32History.Count; i++)
            Assert.True(Math.Abs(fp32History[i].TrainLoss - bf16History[i].TrainLoss) < 0.03,
                $"epoch {i + 1}: fp32 loss {fp32History[i].TrainLoss}, bf16 {bf16History[i].TrainLoss}");
        // Master weights and AdamW's moments stay float32. (They do not stay element-wise close to the float32 run's:
        // Adam divides by the gradient's running size, so a parameter whose gradient is near zero moves by a full step
        // in a direction the rounding decides.)
        Assert.Equal(fp32State.Keys.Order(), bf16State.Keys.Order());
        Assert.All(bf16State.Values.Where(t => t.is_floating_point()), t => Assert.Equal(ScalarType.Float32, t.dtype));
    }

    [Fact]
    public void The_bf16_copy_gives_the_master_float32_gradients_close_to_float32_backward()
    {
        // No drop path: the two passes must see the same function, and masks drawn in two dtypes need not match.
        manual_seed(7);
        using var model = new VisionTransformer(TinyTraining.Config with { DropPathRate = 0 });
        using var shadow = new Bf16Shadow(model);
        var batch = TinyTraining.Loader(64, mixup: 0).Epoch(0).First();
        using var scope = NewDisposeScope();
        model.train();
        shadow.Train(true);
        SoftTargetCrossEntropy.Loss(model.call(batch.Images), batch.Targets).backward();
        var expected = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.clone());
        foreach (var p in model.parameters()) p.grad = null;

        shadow.Pull();
        SoftTargetCrossEntropy.Loss(shadow.Forward(batch.Images), batch.Targets).backward();
        shadow.PushGradients();
        foreach (var (name, p) in model.named_parameters())
        {
            var grad = p.grad!;
            Assert.Equal(ScalarType.Float32, grad.dtype);
            // bfloat16 keeps 8 mantissa bits (relative rounding 2^-9 per value), and the errors add up through the layers.
            double error = (grad - expected[name]).norm().item<float>() / (expected[name].norm().item<float>() + 1e-12);
            Assert.True(error < 0.05, $"{name}: relative gradient error {error:F4}");
        }
        Assert.All(shadow.Parameters(), c => Assert.Null(c.grad));
        batch.Dispose();
    }

    [Fact]
    public void A_checkpoint_resumes_only_in_its_own_precision()
    {
        string dir = Path.Combine(work, "run");
        Train(dir, killAfter: 3, resume: false, Precision.Fp32);
        var error = Assert.Throws<InvalidOperationException>(() => Train(dir, killAfter: null, resume: true, Precision.Bf16));
        Assert.Contains("precision", error.Message);
        Assert.Contains("\"bf16\"", error.Message);
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

    /// <summary><paramref name="epochs"/> epochs (or until step <paramref name="killAfter"/>, "killed" by an exception), returning the step losses and every tensor at the end.</summary>
    private static (List<double> Losses, Dictionary<string, Tensor> State) Train(string dir, int? killAfter, bool resume, Precision precision = Precision.Fp32, int epochs = 2)
    {
        var losses = new List<double>();
        using var model = TinyTraining.Model();
        using var trainer = new Trainer(model, TinyTraining.Loader(), null, TinyTraining.Options(epochs) with { Precision = precision }, dir, ["left", "right"]);
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
