using VitSharp.IO;

namespace VitSharp.Checkpoints.Families;

/// <summary>
/// timm's own naming, which is VitSharp's: DeiT and DINO v1 use it too. Only the keys VitSharp's model has are
/// accepted; anything else is reported as unknown so that a strict load names it.
/// </summary>
internal static class TimmKeys
{
    private static readonly KeyRenamer Renamer = new KeyRenamer()
        .Rename(@"cls_token|reg_token|pos_embed|patch_embed\.proj\.(weight|bias)|norm_pre\.(weight|bias)|norm\.(weight|bias)|fc_norm\.(weight|bias)|head\.(weight|bias)", "$0")
        .Rename(@"blocks\.\d+\.(norm1|norm2|attn\.qkv|attn\.proj|mlp\.fc1|mlp\.fc2)\.(weight|bias)", "$0")
        .Rename(@"blocks\.\d+\.(ls1|ls2)\.gamma", "$0")
        // A hybrid's convolutional stem (timm HybridEmbed + ConvStem): convolutions and their BatchNorms, running statistics included.
        .Rename(@"patch_embed\.backbone\.\d+\.conv\.(weight|bias)|patch_embed\.backbone\.\d+\.bn\.(weight|bias|running_mean|running_var|num_batches_tracked)", "$0");

    public static MappedWeights Map(IReadOnlyList<StoredTensor> tensors)
    {
        if (tensors.Any(t => t.Name is "dist_token" || t.Name.StartsWith("head_dist.", StringComparison.Ordinal)))
            throw new CheckpointException("this is a distilled DeiT checkpoint (dist_token, head_dist): its second head and token are not supported yet; use the non-distilled DeiT weights");
        return Renamer.Apply(tensors);
    }
}
