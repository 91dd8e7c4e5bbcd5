namespace VitSharp.Training;

/// <summary>How <see cref="Trainer"/> optimises. Augmentation belongs to the data loaders the trainer is given.</summary>
public sealed record TrainerOptions
{
    public int Epochs { get; init; } = 10;
    public double Lr { get; init; } = 1e-3;
    public double MinLr { get; init; } = 1e-5;

    /// <summary>Linear warmup length in epochs (fractions allowed); converted to steps with the loader's batches per epoch.</summary>
    public double WarmupEpochs { get; init; } = 1;
    public double WarmupLrInit { get; init; } = 1e-6;
    public double WeightDecay { get; init; } = 0.05;

    /// <summary>Layer-wise learning-rate decay for fine-tuning (e.g. 0.65–0.75); null = off.</summary>
    public double? LayerDecay { get; init; }

    /// <summary>Global gradient-norm clip; null = off.</summary>
    public double? ClipGrad { get; init; } = 1.0;

    /// <summary>EMA decay of the weights; null = no EMA.</summary>
    public double? EmaDecay { get; init; }
    public bool EmaWarmup { get; init; }

    /// <summary>The dtype of the forward and backward passes; everything the optimizer keeps stays float32.</summary>
    public Precision Precision { get; init; } = Precision.Fp32;

    /// <summary>Seeds the per-step RNG of dropout and drop path (the data loader has its own seed).</summary>
    public int Seed { get; init; }

    /// <summary>A checkpoint is also written mid-epoch when this much time has passed since the last one; zero = after every step.</summary>
    public TimeSpan CheckpointInterval { get; init; } = TimeSpan.FromMinutes(10);

    public void Validate()
    {
        static void Require(bool ok, string message)
        {
            if (!ok) throw new ArgumentException(message);
        }
        Require(Epochs >= 1, $"epochs must be at least 1, got {Epochs}");
        Require(Lr > 0 && MinLr >= 0 && MinLr <= Lr, $"need 0 <= min-lr <= lr and lr > 0, got lr {Lr}, min-lr {MinLr}");
        Require(WarmupEpochs >= 0, $"warmup epochs must be >= 0, got {WarmupEpochs}");
        Require(WeightDecay >= 0, $"weight decay must be >= 0, got {WeightDecay}");
        Require(ClipGrad is null or > 0, $"clip-grad must be positive, got {ClipGrad}");
        Require(EmaDecay is null or (>= 0 and < 1), $"ema decay must be in [0, 1), got {EmaDecay}");
        Require(CheckpointInterval >= TimeSpan.Zero, "the checkpoint interval must not be negative");
    }
}
