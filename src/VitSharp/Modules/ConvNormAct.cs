using TorchSharp;
using TorchSharp.Modules;
using VitSharp.Models;
using static TorchSharp.torch;

namespace VitSharp.Modules;

/// <summary>
/// One layer of a convolutional stem with timm's <c>ConvNormAct</c> keys: <c>conv</c>, then <c>bn</c> and the
/// activation, or a bare convolution with a bias for the last layer. <c>bn</c> is timm's key for whatever norm the
/// stem uses (<see cref="StemNorm"/>; eps 1e-5 for all, momentum 0.1 for BatchNorm).
/// </summary>
public sealed class ConvNormAct : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv;
    private readonly nn.Module<Tensor, Tensor>? bn;
    private readonly StemNorm norm;
    private readonly StemActivation activation;

    public ConvNormAct(int inChannels, int outChannels, int kernelSize, int stride, int padding, StemActivation activation, bool last,
        StemNorm norm = StemNorm.BatchNorm) : base(nameof(ConvNormAct))
    {
        conv = nn.Conv2d(inChannels, outChannels, kernelSize, stride: stride, padding: padding, bias: last);
        bn = last ? null : norm switch
        {
            StemNorm.BatchNorm => nn.BatchNorm2d(outChannels, eps: 1e-5, momentum: 0.1),
            StemNorm.GroupNorm1 => nn.GroupNorm(1, outChannels, eps: 1e-5),
            _ => nn.LayerNorm(outChannels, eps: 1e-5),
        };
        this.norm = norm;
        this.activation = activation;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        if (bn is null) return conv.call(x);
        using var scope = NewDisposeScope();
        var y = conv.call(x);
        // LayerNorm2d normalises each pixel over its channels: channels last for the norm, then back.
        var normalized = norm == StemNorm.LayerNorm2d ? bn.call(y.permute(0, 2, 3, 1)).permute(0, 3, 1, 2) : bn.call(y);
        return (activation == StemActivation.Relu ? nn.functional.relu(normalized) : nn.functional.gelu(normalized)).MoveToOuterDisposeScope();
    }
}
