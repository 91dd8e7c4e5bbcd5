using VitSharp.PosEmbed;

namespace VitSharp.Checkpoints;

/// <summary>The PyTorch project whose naming (and position-embedding semantics) a checkpoint follows.</summary>
public enum CheckpointFamily
{
    /// <summary>timm's <c>VisionTransformer</c>; also VitSharp's own exports. VitSharp's layout is timm's.</summary>
    Timm,

    /// <summary>Facebook's DeiT: timm naming inside a <c>{'model': ...}</c> wrapper.</summary>
    Deit,

    /// <summary>DINO v1: timm naming, released as a bare backbone or inside <c>teacher</c>/<c>student</c> training checkpoints.</summary>
    Dino,

    /// <summary>DINOv2: timm-like naming plus <c>mask_token</c>, <c>register_tokens</c> and LayerScale <c>ls1</c>/<c>ls2</c>.</summary>
    DinoV2,

    /// <summary>torchvision's <c>vit_*</c>: <c>conv_proj</c>, <c>encoder.layers.encoder_layer_i</c>, fused <c>in_proj_weight</c>.</summary>
    TorchVision,

    /// <summary>Hugging Face transformers' <c>ViTModel</c> / <c>ViTForImageClassification</c>.</summary>
    HuggingFace,
}

/// <summary>Names and defaults of each <see cref="CheckpointFamily"/>.</summary>
public static class CheckpointFamilies
{
    /// <summary>The lower-case name used on the command line and in reports.</summary>
    public static string Name(this CheckpointFamily family) => family switch
    {
        CheckpointFamily.Timm => "timm",
        CheckpointFamily.Deit => "deit",
        CheckpointFamily.Dino => "dino",
        CheckpointFamily.DinoV2 => "dinov2",
        CheckpointFamily.TorchVision => "torchvision",
        CheckpointFamily.HuggingFace => "hf",
        _ => throw new ArgumentOutOfRangeException(nameof(family)),
    };

    /// <summary>Parses a name given by <see cref="Name"/>.</summary>
    public static CheckpointFamily Parse(string name) =>
        Enum.GetValues<CheckpointFamily>().FirstOrDefault(f => f.Name() == name.ToLowerInvariant(), (CheckpointFamily)(-1)) is var family && Enum.IsDefined(family)
            ? family
            : throw new ArgumentException($"unknown checkpoint family '{name}'; expected one of {string.Join(", ", Enum.GetValues<CheckpointFamily>().Select(f => f.Name()))}");

    /// <summary>
    /// How the family's own code resamples the position embedding when it runs at another size, so a loaded
    /// model answers at any size as its original code would. Register-token DINOv2 uses timm's port (its table
    /// has no class row once the class position is folded into the class token).
    /// </summary>
    public static PosEmbedResampling RuntimeResampling(this CheckpointFamily family, bool hasRegisters) => family switch
    {
        CheckpointFamily.Dino => PosEmbedResampling.DinoV1,
        CheckpointFamily.DinoV2 => hasRegisters ? PosEmbedResampling.DinoV2Reg : PosEmbedResampling.DinoV2,
        CheckpointFamily.TorchVision => PosEmbedResampling.TorchVision,
        CheckpointFamily.HuggingFace => PosEmbedResampling.HuggingFace,
        _ => PosEmbedResampling.Timm,
    };
}
