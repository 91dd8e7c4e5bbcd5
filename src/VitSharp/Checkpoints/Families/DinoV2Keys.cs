using VitSharp.IO;
using VitSharp.Native;
using static TorchSharp.torch;

namespace VitSharp.Checkpoints.Families;

/// <summary>
/// DINOv2's naming is timm's plus <c>mask_token</c> (used only by masked training) and, in the register models,
/// <c>register_tokens</c>. DINOv2 inserts the registers after adding the position embedding, whose table keeps a
/// class row; timm's equivalent (<c>reg_tokens</c> with <c>no_embed_class</c>) adds the table to the patches
/// only, so the class row is folded into the class token, exactly as timm's checkpoint filter does. Training
/// checkpoints built with <c>block_chunks</c> nest the blocks as <c>blocks.CHUNK.INDEX.</c>, where INDEX is already
/// the block's global index (each chunk pads its front with Identity modules), so the chunk level is dropped.
/// </summary>
internal static partial class DinoV2Keys
{
    [System.Text.RegularExpressions.GeneratedRegex(@"^blocks\.\d+\.(\d+)\.")]
    private static partial System.Text.RegularExpressions.Regex ChunkedBlock();

    public static MappedWeights Map(IReadOnlyList<StoredTensor> tensors)
    {
        tensors = tensors.Select(t => ChunkedBlock().IsMatch(t.Name) ? StateDictSelection.Renamed(t, ChunkedBlock().Replace(t.Name, "blocks.$1.")) : t).ToList();
        var ignored = tensors.Where(t => t.Name == "mask_token").Select(t => $"{t.Name}: used only by DINOv2's masked training").ToList();
        var rest = tensors.Where(t => t.Name != "mask_token").ToList();
        var registers = rest.FirstOrDefault(t => t.Name == "register_tokens");
        if (registers is null)
        {
            var plain = TimmKeys.Map(rest);
            return plain with { Ignored = [.. ignored, .. plain.Ignored] };
        }

        var cls = rest.FirstOrDefault(t => t.Name == "cls_token") ?? throw new CheckpointException("a DINOv2 checkpoint with register_tokens has no cls_token");
        var pos = rest.FirstOrDefault(t => t.Name == "pos_embed") ?? throw new CheckpointException("a DINOv2 checkpoint with register_tokens has no pos_embed");
        if (pos.Shape.Length != 3 || pos.Shape[1] < 2 || cls.Shape.Length != 3 || cls.Shape[2] != pos.Shape[2])
            throw new CheckpointException($"DINOv2 cls_token [{string.Join(", ", cls.Shape)}] and pos_embed [{string.Join(", ", pos.Shape)}] do not fit together");

        var others = TimmKeys.Map(rest.Where(t => t.Name is not ("cls_token" or "pos_embed" or "register_tokens")).ToList());
        var folded = new List<StoredTensor>
        {
            new("cls_token", cls.Shape, cls.DType, () => FoldClassPosition(cls, pos)),
            new("pos_embed", [pos.Shape[0], pos.Shape[1] - 1, pos.Shape[2]], pos.DType, () => WithoutClassRow(pos)),
            StateDictSelection.Renamed(registers, "reg_token"),
        };
        return new MappedWeights([.. folded, .. others.Tensors], [.. ignored, .. others.Ignored], others.Unknown);
    }

    private static Tensor FoldClassPosition(StoredTensor cls, StoredTensor pos)
    {
        using var scope = NewDisposeScope();
        var table = pos.Read();
        return cls.Read().Plus(table[.., ..1]).MoveToOuterDisposeScope();
    }

    private static Tensor WithoutClassRow(StoredTensor pos)
    {
        using var scope = NewDisposeScope();
        return pos.Read()[.., 1..].contiguous().MoveToOuterDisposeScope();
    }
}
