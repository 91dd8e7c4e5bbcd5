using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using VitSharp.Checkpoints;
using VitSharp.Models;
using VitSharp.Training.Data;
using VitSharp.Visualization;
using static TorchSharp.torch;

namespace VitSharp.Training;

/// <summary>
/// Trains a <see cref="VisionTransformer"/> with AdamW, a warmup + cosine schedule, soft-target cross-entropy,
/// optional gradient clipping and EMA, in float32 or bf16 mixed precision (<see cref="Precision"/>), evaluating on a
/// test loader after every epoch. Everything a run needs to continue lives in <c>OUT/checkpoint.safetensors</c>,
/// written after every epoch and every <see cref="TrainerOptions.CheckpointInterval"/>; a resumed run produces bit for
/// bit the steps an uninterrupted one would (same thread count), because the data order is a function of (seed, epoch,
/// step) and the RNG of dropout and drop path is re-seeded from (seed, epoch, step) before every step.
/// </summary>
public sealed class Trainer : IDisposable
{
    public const string MetricsFileName = "metrics.csv";
    public const string CurvesFileName = "curves.png";
    public const string ModelFileName = "model.safetensors";
    public const string EmaModelFileName = "model_ema.safetensors";

    /// <summary>Checkpoint metadata key of the training state (JSON).</summary>
    public const string StateKey = "vitsharp.train";

    /// <summary>Checkpoint metadata key of the caller's description of the run (the CLI stores its arguments).</summary>
    public const string ArgsKey = "vitsharp.args";

    private const string ModelPrefix = "model.";
    private const string EmaPrefix = "ema.";
    private const string OptimizerPrefix = "optim.";

    private readonly VisionTransformer model;
    private readonly DataLoader train;
    private readonly DataLoader? test;
    private readonly TrainerOptions options;
    private readonly string outDir;
    private readonly IReadOnlyList<string> labels;
    private readonly string argsJson;
    private readonly AdamW optimizer;
    private readonly CosineSchedule schedule;
    private readonly ModelEma? ema;
    private readonly Bf16Shadow? shadow;
    private readonly List<EpochMetrics> history = [];

    // Where the run is, and the running totals of the current epoch: all saved in checkpoints.
    private int epoch;
    private int stepInEpoch;
    private long globalStep;
    private double lossSum;
    private long correct;
    private long seen;
    private double epochTrainSeconds;
    private double secondsBefore;

    /// <param name="model">The model to train, in float32; the trainer updates it in place.</param>
    /// <param name="train">Training batches (with augmentation); its batches per epoch fix the schedule.</param>
    /// <param name="test">Evaluation batches (no augmentation), or null to skip evaluation.</param>
    /// <param name="options">Optimisation settings.</param>
    /// <param name="outDir">Folder of checkpoints, metrics and the final model; created if missing.</param>
    /// <param name="labels">Class names, stored with the exported model.</param>
    /// <param name="argsJson">A JSON description of the run stored in checkpoints (the CLI stores its arguments, to resume with them).</param>
    public Trainer(VisionTransformer model, DataLoader train, DataLoader? test, TrainerOptions options, string outDir, IReadOnlyList<string> labels, string argsJson = "{}")
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (train.BatchesPerEpoch < 1) throw new ArgumentException("the training loader yields no batch per epoch (fewer images than one batch with drop-last?)");
        // First, because it refuses architectures it cannot mirror (a BatchNorm stem) before anything needs disposing.
        if (options.Precision == Precision.Bf16) shadow = new Bf16Shadow(model);
        this.model = model;
        this.train = train;
        this.test = test;
        this.options = options;
        this.outDir = outDir;
        this.labels = labels;
        this.argsJson = argsJson;
        optimizer = new AdamW(ParamGroups.Build(model, options.WeightDecay, options.LayerDecay));
        long steps = (long)options.Epochs * train.BatchesPerEpoch;
        schedule = new CosineSchedule(options.Lr, options.MinLr, (long)Math.Round(options.WarmupEpochs * train.BatchesPerEpoch), steps, options.WarmupLrInit);
        if (options.EmaDecay is { } decay) ema = new ModelEma(model, decay, options.EmaWarmup);
    }

    /// <summary>After every optimizer step (and any checkpoint it triggered).</summary>
    public Action<TrainProgress>? OnStep { get; set; }

    /// <summary>After every epoch's evaluation, checkpoint and metrics.</summary>
    public Action<EpochMetrics>? OnEpoch { get; set; }

    /// <summary>One line about something done on the side (a checkpoint written, a resume).</summary>
    public Action<string>? Log { get; set; }

    public IReadOnlyList<EpochMetrics> History => history;
    public ModelEma? Ema => ema;
    public AdamW Optimizer => optimizer;
    public CosineSchedule Schedule => schedule;

    /// <summary>The global step of the next optimizer update.</summary>
    public long GlobalStep => globalStep;

    /// <summary>
    /// Trains until <see cref="TrainerOptions.Epochs"/> epochs are done, then exports the model (and its EMA). With
    /// <paramref name="resume"/> it first restores everything from the folder's checkpoint.
    /// </summary>
    public void Run(bool resume = false, CancellationToken cancel = default)
    {
        // Resuming a folder that is not there must not leave an empty one behind.
        if (resume && !Directory.Exists(outDir)) throw new DirectoryNotFoundException($"'{outDir}' does not exist: nothing to resume");
        Directory.CreateDirectory(outDir);
        using var folderLock = RunFolderLock.Acquire(outDir);
        if (resume) Resume();
        else if (TrainingCheckpoint.Exists(outDir))
            throw new InvalidOperationException($"'{outDir}' already holds a training checkpoint; resume it, or choose another output folder");

        var lastCheckpoint = Stopwatch.StartNew();
        var runClock = Stopwatch.StartNew();
        model.train();
        shadow?.Train(true);
        while (epoch < options.Epochs)
        {
            var stepClock = new Stopwatch();
            foreach (var batch in train.Epoch(epoch, stepInEpoch))
            {
                cancel.ThrowIfCancellationRequested();
                double lr = schedule.At(globalStep);
                stepClock.Restart();
                double stepLoss;
                using (batch) stepLoss = Step(batch, lr);
                epochTrainSeconds += stepClock.Elapsed.TotalSeconds;
                stepInEpoch++;
                globalStep++;

                // The epoch's last step is followed by the end-of-epoch checkpoint anyway.
                if (stepInEpoch < train.BatchesPerEpoch && lastCheckpoint.Elapsed >= options.CheckpointInterval)
                {
                    SaveCheckpoint(secondsBefore + runClock.Elapsed.TotalSeconds);
                    lastCheckpoint.Restart();
                }
                OnStep?.Invoke(new TrainProgress(epoch, options.Epochs, stepInEpoch, train.BatchesPerEpoch, globalStep,
                    (long)options.Epochs * train.BatchesPerEpoch, stepLoss, lossSum / seen, (double)correct / seen, lr,
                    seen / Math.Max(epochTrainSeconds, 1e-9), TimeSpan.FromSeconds(secondsBefore + runClock.Elapsed.TotalSeconds)));
            }
            EndEpoch(secondsBefore + runClock.Elapsed.TotalSeconds);
            lastCheckpoint.Restart();
        }
        Export();
        folderLock.RemoveLeftovers();
    }

    /// <summary>One optimizer step on one batch; returns the batch's loss.</summary>
    private double Step(Batch batch, double lr)
    {
        // Dropout and drop path draw from a generator seeded by the step alone, so a resumed run draws the same masks.
        manual_seed(StepSeed(options.Seed, epoch, stepInEpoch));
        optimizer.ZeroGrad();
        shadow?.Pull();
        double loss;
        using (var scope = NewDisposeScope())
        {
            var logits = shadow is null ? model.call(batch.Images) : shadow.Forward(batch.Images);
            var lossTensor = SoftTargetCrossEntropy.Loss(logits, batch.Targets);
            loss = lossTensor.item<float>();
            if (!double.IsFinite(loss))
                throw new InvalidOperationException($"the loss is {loss} at epoch {epoch + 1}, step {stepInEpoch + 1}: training diverged (try a lower --lr or --clip-grad)");
            lossTensor.backward();
            shadow?.PushGradients();
            if (options.ClipGrad is { } maxNorm) nn.utils.clip_grad_norm_(model.parameters().Where(p => p.grad is not null), maxNorm);
            optimizer.Step(lr);
            long batchSize = batch.Labels.shape[0];
            correct += logits.argmax(-1).eq(batch.Labels).sum().item<long>();
            lossSum += loss * batchSize;
            seen += batchSize;
        }
        ema?.Update();
        return loss;
    }

    private void EndEpoch(double seconds)
    {
        var testResult = test is null ? null : Evaluator.Evaluate(model, test);
        var emaResult = test is null || ema is null ? null : Evaluator.Evaluate(ema.Model, test);
        history.Add(new EpochMetrics(epoch + 1, globalStep, schedule.At(globalStep - 1), lossSum / seen, (double)correct / seen,
            testResult?.Accuracy ?? double.NaN, emaResult?.Accuracy ?? double.NaN, seen / Math.Max(epochTrainSeconds, 1e-9), seconds));
        epoch++;
        stepInEpoch = 0;
        lossSum = 0;
        correct = 0;
        seen = 0;
        epochTrainSeconds = 0;
        SaveCheckpoint(seconds);
        WriteMetrics();
        OnEpoch?.Invoke(history[^1]);
    }

    /// <summary>A 63-bit seed from (seed, epoch, step), mixed with SplitMix64 so neighbouring steps get unrelated streams.</summary>
    public static long StepSeed(int seed, int epoch, int step)
    {
        ulong x = (ulong)(uint)seed * 0x9E3779B97F4A7C15UL ^ (ulong)(uint)epoch << 32 ^ (uint)step;
        x += 0x9E3779B97F4A7C15UL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return (long)((x ^ (x >> 31)) & long.MaxValue);
    }

    private void SaveCheckpoint(double totalSeconds)
    {
        using var scope = NewDisposeScope();
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, t) in model.state_dict()) tensors[ModelPrefix + name] = t;
        if (ema is not null) foreach (var (name, t) in ema.Model.state_dict()) tensors[EmaPrefix + name] = t;
        foreach (var (name, t) in optimizer.StateTensors(OptimizerPrefix)) tensors[name] = t;

        var state = new JsonObject
        {
            ["epoch"] = epoch,
            ["step_in_epoch"] = stepInEpoch,
            ["global_step"] = globalStep,
            ["ema_updates"] = ema?.Updates ?? 0,
            ["seed"] = options.Seed,
            ["loss_sum"] = R(lossSum),
            ["correct"] = correct,
            ["seen"] = seen,
            ["epoch_train_seconds"] = R(epochTrainSeconds),
            ["total_seconds"] = R(totalSeconds),
            ["options"] = OptionsJson(),
            ["labels"] = new JsonArray([.. labels.Select(l => JsonValue.Create(l))]),
            ["history"] = new JsonArray([.. history.Select(h => JsonValue.Create(h.ToCsv()))]),
        };
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [CheckpointLoader.ConfigMetadataKey] = ConfigJson(),
            [StateKey] = state.ToJsonString(),
            [ArgsKey] = argsJson,
        };
        TrainingCheckpoint.Save(outDir, tensors, metadata);
        Log?.Invoke($"checkpoint: epoch {epoch + (stepInEpoch == 0 ? 0 : 1)}, step {globalStep} -> {TrainingCheckpoint.PathIn(outDir)}");
    }

    /// <summary>Doubles as round-trip strings, so resumed running totals are exactly the saved ones.</summary>
    private static string R(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    private static double ParseR(JsonNode? node) => double.Parse(node!.GetValue<string>(), CultureInfo.InvariantCulture);

    private string ConfigJson() => VitConfigJson.Write(model.Config with { PosEmbedResampling = model.PosEmbedResampling });

    /// <summary>The options that shape the optimisation; a resume must use the same ones (the checkpoint interval may differ).</summary>
    private JsonObject OptionsJson() => new()
    {
        ["epochs"] = options.Epochs,
        ["lr"] = R(options.Lr),
        ["min_lr"] = R(options.MinLr),
        ["warmup_epochs"] = R(options.WarmupEpochs),
        ["warmup_lr_init"] = R(options.WarmupLrInit),
        ["weight_decay"] = R(options.WeightDecay),
        ["layer_decay"] = options.LayerDecay is { } ld ? R(ld) : null,
        ["clip_grad"] = options.ClipGrad is { } cg ? R(cg) : null,
        ["ema_decay"] = options.EmaDecay is { } ed ? R(ed) : null,
        ["ema_warmup"] = options.EmaWarmup,
        // Null for fp32, which is what a checkpoint written before bf16 existed reads as: those still resume.
        ["precision"] = options.Precision == Precision.Fp32 ? null : "bf16",
        ["seed"] = options.Seed,
        ["batches_per_epoch"] = train.BatchesPerEpoch,
    };

    private void Resume()
    {
        var (tensors, metadata) = TrainingCheckpoint.Load(outDir);
        try
        {
            string savedConfig = metadata.GetValueOrDefault(CheckpointLoader.ConfigMetadataKey) ?? "";
            if (savedConfig != ConfigJson())
                throw new InvalidOperationException($"the checkpoint in '{outDir}' was trained with another architecture than this model's; resume with the same model settings");
            var state = JsonNode.Parse(metadata.GetValueOrDefault(StateKey) ?? throw new CheckpointCorruptException($"the checkpoint in '{outDir}' has no {StateKey}"))!.AsObject();
            var savedOptions = state["options"]!.AsObject();
            var current = OptionsJson();
            var differing = current.Select(kv => kv.Key).Where(k => !JsonNode.DeepEquals(current[k], savedOptions[k])).ToList();
            if (differing.Count > 0)
                throw new InvalidOperationException($"the checkpoint in '{outDir}' was made with other training settings ({string.Join(", ", differing.Select(k => $"{k}: {savedOptions[k]?.ToJsonString() ?? "null"} there, {current[k]?.ToJsonString() ?? "null"} now"))}); resume with the same ones");

            LoadInto(model, tensors, ModelPrefix);
            if (ema is not null)
            {
                LoadInto(ema.Model, tensors, EmaPrefix);
                ema.Updates = state["ema_updates"]!.GetValue<long>();
            }
            optimizer.LoadState(tensors, OptimizerPrefix);
            epoch = state["epoch"]!.GetValue<int>();
            stepInEpoch = state["step_in_epoch"]!.GetValue<int>();
            globalStep = state["global_step"]!.GetValue<long>();
            lossSum = ParseR(state["loss_sum"]);
            correct = state["correct"]!.GetValue<long>();
            seen = state["seen"]!.GetValue<long>();
            epochTrainSeconds = ParseR(state["epoch_train_seconds"]);
            secondsBefore = ParseR(state["total_seconds"]);
            history.Clear();
            history.AddRange(state["history"]!.AsArray().Select(n => EpochMetrics.FromCsv(n!.GetValue<string>())));
            Log?.Invoke($"resumed from {TrainingCheckpoint.PathIn(outDir)}: epoch {epoch + 1}, step {stepInEpoch} of {train.BatchesPerEpoch} (global step {globalStep})");
        }
        catch (Exception e) when (e is JsonException or NullReferenceException or FormatException or KeyNotFoundException)
        {
            throw new CheckpointCorruptException($"the training state in '{TrainingCheckpoint.PathIn(outDir)}' cannot be read: {e.Message}", e);
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    private static void LoadInto(VisionTransformer target, Dictionary<string, Tensor> tensors, string prefix)
    {
        var own = tensors.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal)).ToDictionary(kv => kv.Key[prefix.Length..], kv => kv.Value);
        var (missing, unexpected) = target.load_state_dict(own, strict: false);
        if (missing.Count > 0 || unexpected.Count > 0)
            throw new InvalidDataException($"the checkpoint's '{prefix}' tensors do not fit the model (missing: {string.Join(", ", missing.Take(5))}; unexpected: {string.Join(", ", unexpected.Take(5))})");
    }

    private void WriteMetrics()
    {
        EpochMetrics.WriteCsv(Path.Combine(outDir, MetricsFileName), history);
        double[] epochs = [.. history.Select(h => (double)h.Epoch)];
        LineChart.Save(Path.Combine(outDir, CurvesFileName),
        [
            new ChartSeries("train loss", epochs, [.. history.Select(h => h.TrainLoss)]),
            new ChartSeries("train accuracy", epochs, [.. history.Select(h => h.TrainAccuracy)]),
            new ChartSeries("test accuracy", epochs, [.. history.Select(h => h.TestAccuracy)]),
            new ChartSeries("EMA test accuracy", epochs, [.. history.Select(h => h.EmaTestAccuracy)]),
        ], "Training curves", "epoch", "loss / accuracy (fraction)");
    }

    /// <summary>The trained model (and its EMA) in timm's naming with a JSON config and the labels, for inference and PyTorch.</summary>
    private void Export()
    {
        var metadata = new Dictionary<string, string> { ["vitsharp.trained_epochs"] = options.Epochs.ToString(CultureInfo.InvariantCulture) };
        CheckpointExporter.Save(model, Path.Combine(outDir, ModelFileName), metadata: metadata, labels: labels);
        if (ema is not null) CheckpointExporter.Save(ema.Model, Path.Combine(outDir, EmaModelFileName), metadata: metadata, labels: labels);
        Log?.Invoke($"model: {Path.Combine(outDir, ModelFileName)}{(ema is null ? "" : $", EMA: {Path.Combine(outDir, EmaModelFileName)}")}");
    }

    public void Dispose()
    {
        optimizer.Dispose();
        ema?.Dispose();
        shadow?.Dispose();
    }
}
