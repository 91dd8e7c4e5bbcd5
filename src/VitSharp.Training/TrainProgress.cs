namespace VitSharp.Training;

/// <summary>Where a run is after an optimizer step; <see cref="Loss"/> and <see cref="Accuracy"/> are the epoch's running means.</summary>
public sealed record TrainProgress(int Epoch, int Epochs, int StepInEpoch, int StepsPerEpoch, long GlobalStep, long TotalSteps,
    double StepLoss, double Loss, double Accuracy, double Lr, double ImagesPerSecond, TimeSpan Elapsed)
{
    /// <summary>Remaining time at the epoch's throughput so far (evaluation not included).</summary>
    public TimeSpan Eta => GlobalStep <= 0 || ImagesPerSecond <= 0
        ? TimeSpan.Zero
        : TimeSpan.FromSeconds(Elapsed.TotalSeconds / GlobalStep * (TotalSteps - GlobalStep));
}
