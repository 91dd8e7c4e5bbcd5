using TorchSharp;
using TorchSharp.Modules;
using VitSharp.Kernels;
using static TorchSharp.torch;

namespace VitSharp.Modules;

/// <summary>The transformer MLP: <c>fc1 → GELU → dropout → fc2 → dropout</c> (timm <c>Mlp</c>).</summary>
public sealed class Mlp : nn.Module<Tensor, Tensor>
{
    private readonly LinearLayer fc1;
    private readonly GELU act;
    private readonly Dropout drop1;
    private readonly LinearLayer fc2;
    private readonly Dropout drop2;

    public Mlp(long dim, long hiddenDim, double dropRate) : base(nameof(Mlp))
    {
        fc1 = new LinearLayer(dim, hiddenDim);
        act = nn.GELU();
        drop1 = nn.Dropout(dropRate);
        fc2 = new LinearLayer(hiddenDim, dim);
        drop2 = nn.Dropout(dropRate);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return drop2.call(fc2.call(drop1.call(act.call(fc1.call(x))))).MoveToOuterDisposeScope();
    }
}
