using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace VitSharp.Modules;

/// <summary>The standard patch embedding: a Conv2d with kernel = stride = patch size (timm <c>PatchEmbed</c>, key <c>proj</c>).</summary>
public sealed class PatchEmbed : PatchEmbedding
{
    private readonly Conv2d proj;

    public PatchEmbed(int inChans, int patchSize, long embedDim, bool dynamicPad = false) : base(nameof(PatchEmbed), inChans, patchSize, dynamicPad)
    {
        proj = nn.Conv2d(inChans, embedDim, patchSize, stride: patchSize);
        RegisterComponents();
    }

    public Conv2d Proj => proj;

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return proj.call(PrepareImage(x)).flatten(2).transpose(1, 2).MoveToOuterDisposeScope();
    }
}
