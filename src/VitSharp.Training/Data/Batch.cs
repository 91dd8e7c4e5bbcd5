using static TorchSharp.torch;

namespace VitSharp.Training.Data;

/// <summary>
/// One training batch, owning its tensors (they belong to no dispose scope): dispose it when the step is done.
/// Images [B, C, H, W] float32 normalised and augmented; Targets [B, K] float32 soft targets (smoothed one-hot, mixed);
/// Labels [B] int64, the original labels.
/// </summary>
public sealed record Batch(Tensor Images, Tensor Targets, Tensor Labels) : IDisposable
{
    public void Dispose()
    {
        Images.Dispose();
        Targets.Dispose();
        Labels.Dispose();
    }
}
