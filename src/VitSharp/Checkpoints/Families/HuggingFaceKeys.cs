using System.Text.RegularExpressions;
using VitSharp.IO;
using static TorchSharp.torch;

namespace VitSharp.Checkpoints.Families;

/// <summary>
/// Hugging Face's <c>ViTModel</c> (keys from <c>embeddings.</c>) and <c>ViTForImageClassification</c> (the same
/// under <c>vit.</c>, plus <c>classifier</c>). Separate query, key and value projections are concatenated into
/// timm's fused <c>qkv</c> in that order.
/// </summary>
internal static partial class HuggingFaceKeys
{
    private const string Layer = @"encoder\.layer\.(\d+)\.";

    private static readonly KeyRenamer Renamer = new KeyRenamer()
        .Rename(@"embeddings\.cls_token", "cls_token")
        .Rename(@"embeddings\.position_embeddings", "pos_embed")
        .Rename(@"embeddings\.patch_embeddings\.projection\.(weight|bias)", "patch_embed.proj.$1")
        .Ignore(@"embeddings\.mask_token", "used only by masked image modelling")
        .Rename(Layer + @"layernorm_before\.(weight|bias)", "blocks.$1.norm1.$2")
        .Rename(Layer + @"attention\.output\.dense\.(weight|bias)", "blocks.$1.attn.proj.$2")
        .Rename(Layer + @"layernorm_after\.(weight|bias)", "blocks.$1.norm2.$2")
        .Rename(Layer + @"intermediate\.dense\.(weight|bias)", "blocks.$1.mlp.fc1.$2")
        .Rename(Layer + @"output\.dense\.(weight|bias)", "blocks.$1.mlp.fc2.$2")
        .Rename(@"layernorm\.(weight|bias)", "norm.$1")
        .Rename(@"classifier\.(weight|bias)", "head.$1")
        .Ignore(@"pooler\.dense\.(weight|bias)", "ViTModel's pooler (dense + tanh) is not part of the classifier path");

    [GeneratedRegex(@"^encoder\.layer\.(\d+)\.attention\.attention\.(query|key|value)\.(weight|bias)$")]
    private static partial Regex QkvPart();

    public static MappedWeights Map(IReadOnlyList<StoredTensor> tensors)
    {
        var unprefixed = tensors.Select(t => t.Name.StartsWith("vit.", StringComparison.Ordinal) ? StateDictSelection.Renamed(t, t.Name[4..]) : t).ToList();
        var parts = unprefixed.Where(t => QkvPart().IsMatch(t.Name)).ToList();
        var mapped = Renamer.Apply(unprefixed.Except(parts));
        var fused = FuseQkv(parts);
        return mapped with { Tensors = [.. mapped.Tensors, .. fused] };
    }

    private static List<StoredTensor> FuseQkv(List<StoredTensor> parts)
    {
        var fused = new List<StoredTensor>();
        foreach (var group in parts.GroupBy(t => (Layer: QkvPart().Match(t.Name).Groups[1].Value, Kind: QkvPart().Match(t.Name).Groups[3].Value)))
        {
            var byRole = group.ToDictionary(t => QkvPart().Match(t.Name).Groups[2].Value);
            string target = $"blocks.{group.Key.Layer}.attn.qkv.{group.Key.Kind}";
            StoredTensor[] qkv = new[] { "query", "key", "value" }.Select(role => byRole.TryGetValue(role, out var t)
                ? t
                : throw new CheckpointException($"Hugging Face layer {group.Key.Layer} has no attention.attention.{role}.{group.Key.Kind} (query, key and value must all be present)")).ToArray();
            if (qkv.Any(t => !t.Shape.SequenceEqual(qkv[0].Shape)))
                throw new CheckpointException($"Hugging Face layer {group.Key.Layer} query/key/value {group.Key.Kind} shapes differ: {string.Join(", ", qkv.Select(t => $"[{string.Join(", ", t.Shape)}]"))}");
            long[] shape = [.. qkv[0].Shape];
            shape[0] *= 3;
            fused.Add(new StoredTensor(target, shape, qkv[0].DType, () => Concatenate(qkv)));
        }
        return fused;
    }

    private static Tensor Concatenate(StoredTensor[] parts)
    {
        using var scope = NewDisposeScope();
        return cat(parts.Select(p => p.Read()).ToArray(), dim: 0).MoveToOuterDisposeScope();
    }
}
