using static TorchSharp.torch;

namespace VitSharp.Training;

/// <summary>
/// Cross-entropy against soft targets (timm's <c>SoftTargetCrossEntropy</c>): <c>mean over the batch of
/// Σ −target · log_softmax(logits)</c>. Label smoothing, mixup and cutmix all arrive through the targets. Computed
/// in float32 whatever the logits' dtype, so reduced-precision logits do not round the loss or its reductions.
/// </summary>
public static class SoftTargetCrossEntropy
{
    /// <param name="logits"><c>[B, K]</c>.</param>
    /// <param name="targets"><c>[B, K]</c>, each row summing to 1.</param>
    public static Tensor Loss(Tensor logits, Tensor targets)
    {
        if (!logits.shape.SequenceEqual(targets.shape))
            throw new ArgumentException($"logits [{string.Join(", ", logits.shape)}] and targets [{string.Join(", ", targets.shape)}] differ in shape");
        using var scope = NewDisposeScope();
        var logProbabilities = nn.functional.log_softmax(logits.to(ScalarType.Float32), dim: -1);
        return (-targets.to(ScalarType.Float32) * logProbabilities).sum(-1).mean().MoveToOuterDisposeScope();
    }
}
