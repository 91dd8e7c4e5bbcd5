using TorchSharp;
using VitSharp.Native;
using static TorchSharp.torch;

namespace VitSharp.Modules;

/// <summary>
/// Stochastic depth (timm <c>DropPath</c>): in training, drops a residual branch for a whole sample with
/// probability <c>p</c> and scales kept samples by <c>1/(1-p)</c>. The seed used element-wise Dropout here,
/// which is a different regulariser; this is the one the ViT/DeiT recipes mean.
/// </summary>
public sealed class DropPath : nn.Module<Tensor, Tensor>
{
    public double DropProbability { get; }

    public DropPath(double dropProbability) : base(nameof(DropPath))
    {
        if (dropProbability is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(dropProbability), "drop path rate must be in [0, 1)");
        DropProbability = dropProbability;
    }

    public override Tensor forward(Tensor x)
    {
        if (DropProbability == 0 || !training) return x.alias();
        double keep = 1 - DropProbability;
        long[] shape = [x.shape[0], .. Enumerable.Repeat(1L, (int)x.ndim - 1)];
        using var mask = empty(shape, x.dtype, x.device).bernoulli_(keep).DivideInPlace(keep);
        return x * mask;
    }
}
