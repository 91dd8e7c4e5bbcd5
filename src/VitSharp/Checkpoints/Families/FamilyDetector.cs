using VitSharp.IO;

namespace VitSharp.Checkpoints.Families;

/// <summary>
/// Tells the naming family of a selected state_dict by sentinel keys, as timm's checkpoint filter does, and maps
/// it to timm's layout. timm, DeiT and DINO v1 share one naming; they are told apart by how the file wraps its
/// weights, which only matters for the default position-embedding semantics.
/// </summary>
public static class FamilyDetector
{
    /// <summary>The family of <paramref name="selection"/>, from its keys and wrapper.</summary>
    /// <param name="selection">The state_dict chosen by <see cref="StateDictSelection.Select"/>.</param>
    /// <param name="format">The file format; a bare headless <c>.pth</c> is how DINO released its backbones.</param>
    public static CheckpointFamily Detect(StateDictSelection.Selection selection, string format)
    {
        var names = selection.Tensors.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        if (names.Any(n => n.StartsWith("embeddings.patch_embeddings.", StringComparison.Ordinal) || n.StartsWith("vit.embeddings.", StringComparison.Ordinal)))
            return CheckpointFamily.HuggingFace;
        if (names.Contains("conv_proj.weight") || names.Contains("encoder.pos_embedding"))
            return CheckpointFamily.TorchVision;
        if (names.Contains("mask_token") || names.Contains("register_tokens"))
            return CheckpointFamily.DinoV2;
        if (!names.Contains("patch_embed.proj.weight") && !names.Contains("patch_embed.backbone.0.conv.weight"))
            throw new CheckpointException($"the tensor names match no supported ViT family (timm, DeiT, DINO, DINOv2, torchvision, Hugging Face); first keys: {string.Join(", ", names.Take(6))}");

        if (selection.Wrapper is "teacher" or "student" || selection.StrippedPrefixes.Contains("backbone."))
            return CheckpointFamily.Dino;
        if (selection.Wrapper == "model")
            return CheckpointFamily.Deit;
        bool headless = !names.Contains("head.weight");
        return headless && format != "safetensors" ? CheckpointFamily.Dino : CheckpointFamily.Timm;
    }

    /// <summary>The tensors of <paramref name="tensors"/> under timm names, for <paramref name="family"/>.</summary>
    public static MappedWeights Map(CheckpointFamily family, IReadOnlyList<StoredTensor> tensors) => family switch
    {
        CheckpointFamily.HuggingFace => HuggingFaceKeys.Map(tensors),
        CheckpointFamily.TorchVision => TorchVisionKeys.Map(tensors),
        CheckpointFamily.DinoV2 => DinoV2Keys.Map(tensors),
        _ => TimmKeys.Map(tensors),
    };
}
