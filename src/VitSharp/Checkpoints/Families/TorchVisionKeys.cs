using VitSharp.IO;

namespace VitSharp.Checkpoints.Families;

/// <summary>
/// torchvision's <c>VisionTransformer</c>. Its <c>nn.MultiheadAttention</c> stores q, k and v fused in the same
/// order as timm's <c>qkv</c>, so every tensor maps one to one. The MLP is <c>mlp.0</c>/<c>mlp.3</c> since
/// torchvision 0.14 and <c>mlp.linear_1</c>/<c>mlp.linear_2</c> in older files.
/// </summary>
internal static class TorchVisionKeys
{
    private const string Layer = @"encoder\.layers\.encoder_layer_(\d+)\.";

    private static readonly KeyRenamer Renamer = new KeyRenamer()
        .Rename("class_token", "cls_token")
        .Rename(@"encoder\.pos_embedding", "pos_embed")
        .Rename(@"conv_proj\.(weight|bias)", "patch_embed.proj.$1")
        .Rename(Layer + @"ln_1\.(weight|bias)", "blocks.$1.norm1.$2")
        .Rename(Layer + @"self_attention\.in_proj_(weight|bias)", "blocks.$1.attn.qkv.$2")
        .Rename(Layer + @"self_attention\.out_proj\.(weight|bias)", "blocks.$1.attn.proj.$2")
        .Rename(Layer + @"ln_2\.(weight|bias)", "blocks.$1.norm2.$2")
        .Rename(Layer + @"mlp\.(?:0|linear_1)\.(weight|bias)", "blocks.$1.mlp.fc1.$2")
        .Rename(Layer + @"mlp\.(?:3|linear_2)\.(weight|bias)", "blocks.$1.mlp.fc2.$2")
        .Rename(@"encoder\.ln\.(weight|bias)", "norm.$1")
        .Rename(@"heads\.head\.(weight|bias)", "head.$1");

    public static MappedWeights Map(IReadOnlyList<StoredTensor> tensors)
    {
        if (tensors.Any(t => t.Name.StartsWith("heads.pre_logits.", StringComparison.Ordinal)))
            throw new CheckpointException("this torchvision ViT has a representation layer (heads.pre_logits, representation_size) that VitSharp does not support");
        return Renamer.Apply(tensors);
    }
}
