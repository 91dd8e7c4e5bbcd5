using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace VitSharp.Modules;

/// <summary>Per-channel learned scale of a residual branch (CaiT/DeiT-III/DINOv2 <c>LayerScale</c>, key <c>gamma</c>).</summary>
public sealed class LayerScale : nn.Module<Tensor, Tensor>
{
    private readonly Parameter gamma;

    public LayerScale(long dim, double initValue) : base(nameof(LayerScale))
    {
        gamma = nn.Parameter(full(dim, initValue));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => x * gamma;
}
