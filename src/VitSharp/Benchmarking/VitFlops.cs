using VitSharp.Models;
using VitSharp.PosEmbed;

namespace VitSharp.Benchmarking;

/// <summary>
/// The floating-point operations of one forward pass of a <see cref="VisionTransformer"/> for one image, counted
/// analytically from its configuration: every matrix product (patch projection, qkv, attention scores, attention
/// times values, output projection, MLP, head) at 2 operations per multiply-add. (The "17.6 GFLOPs" that DeiT and
/// fvcore give for ViT-B/16 at 224 are multiply-adds: this counts 35.1 G.) Norms, softmax, GELU and additions are left out: they are under 1 % of a ViT-S/16's work
/// and are memory-bound, so they are not what a GFLOP/s figure measures.
/// </summary>
public static class VitFlops
{
    /// <summary>Operations of one image of <paramref name="image"/> pixels (height × width).</summary>
    public static double PerImage(VitConfig config, GridSize image)
    {
        var grid = new GridSize(image.Height / config.PatchSize, image.Width / config.PatchSize);
        double patches = grid.Count;
        double tokens = patches + config.NumPrefixTokens;
        double d = config.EmbedDim;
        double hidden = Math.Floor(d * config.MlpRatio);

        double patchEmbed = config.ConvStem is { } stem && config.PatchEmbed == PatchEmbedKind.ConvStem
            ? StemMultiplyAdds(stem, config.InChans, image, d)
            : patches * d * config.InChans * config.PatchSize * config.PatchSize;
        double attentionProjections = tokens * d * 3 * d + tokens * d * d;
        double attentionMatrix = 2 * tokens * tokens * d; // q·kᵀ and probabilities·v over all heads
        double mlp = 2 * tokens * d * hidden;
        double head = config.NumClasses * d;
        double multiplyAdds = patchEmbed + config.Depth * (attentionProjections + attentionMatrix + mlp) + head;
        return 2 * multiplyAdds;
    }

    /// <summary>A hybrid's convolutional stem: each layer's output cells × its kernel volume, plus the 1×1 projection.</summary>
    private static double StemMultiplyAdds(ConvStemSpec stem, int inChans, GridSize image, double embedDim)
    {
        double total = 0;
        int height = image.Height, width = image.Width, channels = inChans;
        for (int i = 0; i < stem.Depth; i++)
        {
            height = stem.OutputSide(i, height);
            width = stem.OutputSide(i, width);
            total += (double)height * width * stem.Channels[i] * channels * stem.KernelSizes[i] * stem.KernelSizes[i];
            channels = stem.Channels[i];
        }
        if (stem.Proj) total += (double)height * width * embedDim * channels;
        return total;
    }
}
