using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace VitSharp.Modules;

/// <summary>The transformer MLP: <c>fc1 → GELU → dropout → fc2 → dropout</c> (timm <c>Mlp</c>).</summary>
public sealed class Mlp : nn.Module<Tensor, Tensor>
{
    private readonly Linear fc1;
    private readonly GELU act;
    private readonly Dropout drop1;
    private readonly Linear fc2;
    private readonly Dropout drop2;

    public Mlp(long dim, long hiddenDim, double dropRate) : base(nameof(Mlp))
    {
        fc1 = nn.Linear(dim, hiddenDim);
        act = nn.GELU();
        drop1 = nn.Dropout(dropRate);
        fc2 = nn.Linear(hiddenDim, dim);
        drop2 = nn.Dropout(dropRate);
        RegisterComponents();
    }

    private PackedLinearWeight? packedFc1;
    private PackedLinearWeight? packedFc2;

    /// <summary>Which code computes <c>fc1</c> and <c>fc2</c> (default: <see cref="LinearKernel.Auto"/>).</summary>
    public LinearKernel LinearKernel { get; set; } = LinearKernel.Auto;

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        long rows = LinearKernel == LinearKernel.Auto ? LinearKernels.Rows(x.shape) : 0;
        var hidden = LinearKernels.UsesPacked(LinearKernel, fc1, packedFc1, x, rows)
            ? fc1.ApplyPacked(x, rows, packedFc1!, gelu: true) // the GELU runs inside the product, as a oneDNN post-op
            : act.call(fc1.Apply(x, LinearKernel, rows));
        var y = drop2.call(fc2.Apply(drop1.call(hidden), LinearKernel, rows, packedFc2));
        return y.MoveToOuterDisposeScope();
    }

    /// <summary>Packs <c>fc1</c> and <c>fc2</c> for inference (<see cref="Models.VisionTransformer.PackLinearWeights"/>); returns how many it packed.</summary>
    internal int PackLinearWeights() => PackedLinearWeight.Repack(ref packedFc1, fc1) + PackedLinearWeight.Repack(ref packedFc2, fc2);

    internal void UnpackLinearWeights()
    {
        PackedLinearWeight.Drop(ref packedFc1);
        PackedLinearWeight.Drop(ref packedFc2);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) UnpackLinearWeights();
        base.Dispose(disposing);
    }
}
