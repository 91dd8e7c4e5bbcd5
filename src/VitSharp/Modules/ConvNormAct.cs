using TorchSharp;
using TorchSharp.Modules;
using VitSharp.Models;
using static TorchSharp.torch;

namespace VitSharp.Modules;

/// <summary>
/// One layer of a convolutional stem with timm's <c>ConvNormAct</c> keys: <c>conv</c>, then <c>bn</c> (BatchNorm,
/// eps 1e-5, momentum 0.1) and the activation, or a bare convolution with a bias for the last layer.
/// </summary>
public sealed class ConvNormAct : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv;
    private readonly BatchNorm2d? bn;
    private readonly StemActivation activation;

    public ConvNormAct(int inChannels, int outChannels, int kernelSize, int stride, int padding, StemActivation activation, bool last) : base(nameof(ConvNormAct))
    {
        conv = nn.Conv2d(inChannels, outChannels, kernelSize, stride: stride, padding: padding, bias: last);
        bn = last ? null : nn.BatchNorm2d(outChannels, eps: 1e-5, momentum: 0.1);
        this.activation = activation;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        if (bn is null) return conv.call(x);
        using var scope = NewDisposeScope();
        var normalized = bn.call(conv.call(x));
        return (activation == StemActivation.Relu ? nn.functional.relu(normalized) : nn.functional.gelu(normalized)).MoveToOuterDisposeScope();
    }
}
