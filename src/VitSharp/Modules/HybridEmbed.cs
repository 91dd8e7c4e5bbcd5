using TorchSharp;
using TorchSharp.Modules;
using VitSharp.Models;
using static TorchSharp.torch;

namespace VitSharp.Modules;

/// <summary>
/// The patch embedding of a hybrid ViT (timm <c>HybridEmbed</c> around a <c>ConvStem</c>): a few strided
/// convolutions (<c>backbone.{i}.conv</c>, <c>backbone.{i}.bn</c>) turn the image into a feature map whose cells
/// are the tokens, optionally through a 1×1 projection (<c>proj</c>). The convolutions see overlapping
/// neighbourhoods where a plain patch embedding sees disjoint patches: the seed's "hybrid design" for small data.
/// <see cref="PatchEmbedding.PatchSize"/> is the stem's total stride, so the grid rules are those of a patch
/// embedding with that patch size.
/// </summary>
public sealed class HybridEmbed : PatchEmbedding
{
    private readonly ModuleList<ConvNormAct> backbone;
    private readonly Conv2d? proj;

    public HybridEmbed(int inChans, ConvStemSpec stem, long embedDim, bool dynamicPad = false) : base(nameof(HybridEmbed), inChans, stem.TotalStride, dynamicPad)
    {
        stem.Validate(checked((int)embedDim));
        Stem = stem;
        var layers = new ConvNormAct[stem.Depth];
        for (int i = 0, channels = inChans; i < stem.Depth; channels = stem.Channels[i], i++)
            layers[i] = new ConvNormAct(channels, stem.Channels[i], stem.KernelSizes[i], stem.Strides[i], stem.PaddingOf(i), stem.Activation, last: i == stem.Depth - 1, stem.Norm);
        backbone = nn.ModuleList(layers);
        proj = stem.Proj ? nn.Conv2d(stem.Channels[^1], embedDim, 1) : null;
        RegisterComponents();
    }

    public ConvStemSpec Stem { get; }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        x = PrepareImage(x);
        var expected = GridFor(new PosEmbed.GridSize((int)x.shape[2], (int)x.shape[3]));
        foreach (var layer in backbone) x = layer.call(x);
        if (proj is not null) x = proj.call(x);
        if (x.shape[2] != expected.Height || x.shape[3] != expected.Width)
            throw new InvalidOperationException($"the convolutional stem made a {x.shape[2]}x{x.shape[3]} feature map where the position table expects {expected}; its kernels and padding do not divide the input evenly");
        return x.flatten(2).transpose(1, 2).MoveToOuterDisposeScope();
    }
}
