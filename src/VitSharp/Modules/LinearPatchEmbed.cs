using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace VitSharp.Modules;

/// <summary>
/// The seed's second patch embedding: <c>patch_and_flatten</c> (einops
/// <c>b c (h p1) (w p2) -> b (h w) (p1 p2 c)</c>) followed by a Linear layer (key <c>proj</c>, weight
/// <c>[D, p·p·C]</c>). It computes the same function as <see cref="PatchEmbed"/> when the weights are converted
/// with <see cref="WeightFromConv"/>.
/// </summary>
public sealed class LinearPatchEmbed : PatchEmbedding
{
    private readonly Linear proj;

    public LinearPatchEmbed(int inChans, int patchSize, long embedDim, bool dynamicPad = false) : base(nameof(LinearPatchEmbed), inChans, patchSize, dynamicPad)
    {
        proj = nn.Linear((long)patchSize * patchSize * inChans, embedDim);
        RegisterComponents();
    }

    public Linear Proj => proj;

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return proj.call(Patchify(PrepareImage(x), PatchSize)).MoveToOuterDisposeScope();
    }

    /// <summary>The seed's <c>patch_and_flatten</c>: <c>[B, C, H, W] → [B, (H/p)·(W/p), p·p·C]</c>, pixel order (p1, p2, c).</summary>
    public static Tensor Patchify(Tensor images, int patchSize)
    {
        long b = images.shape[0], c = images.shape[1], h = images.shape[2], w = images.shape[3];
        if (h % patchSize != 0 || w % patchSize != 0)
            throw new ArgumentException($"image dimensions {h}x{w} must be divisible by the patch size {patchSize}");
        long gh = h / patchSize, gw = w / patchSize;
        return images.reshape(b, c, gh, patchSize, gw, patchSize)
            .permute(0, 2, 4, 3, 5, 1) // b, h, w, p1, p2, c
            .reshape(b, gh * gw, (long)patchSize * patchSize * c);
    }

    /// <summary>A Conv2d kernel <c>[D, C, p, p]</c> as this layer's weight <c>[D, p·p·C]</c>.</summary>
    public static Tensor WeightFromConv(Tensor convWeight) =>
        convWeight.permute(0, 2, 3, 1).reshape(convWeight.shape[0], -1);

    /// <summary>This layer's weight <c>[D, p·p·C]</c> as a Conv2d kernel <c>[D, C, p, p]</c>.</summary>
    public static Tensor WeightToConv(Tensor linearWeight, int inChans, int patchSize) =>
        linearWeight.reshape(linearWeight.shape[0], patchSize, patchSize, inChans).permute(0, 3, 1, 2);
}
