using VitSharp.IO;

namespace VitSharp.Checkpoints;

/// <summary>
/// Finds the model's state_dict inside a checkpoint: training checkpoints wrap it (<c>model</c> in DeiT,
/// <c>state_dict</c> in timm's trainer, <c>teacher</c>/<c>student</c> in DINO) next to optimizer state and
/// arguments, and DataParallel, DINO and torch.compile add <c>module.</c>, <c>backbone.</c> and
/// <c>_orig_mod.</c> to every key. The result is the bare state_dict with those layers peeled off.
/// </summary>
public static class StateDictSelection
{
    /// <summary>
    /// Wrappers tried in order when the file has no model keys at its top level. DINO's teacher comes before its
    /// student because the teacher is the model DINO evaluates and releases.
    /// </summary>
    public static IReadOnlyList<string> WrapperPreference { get; } = ["teacher", "model", "state_dict", "module", "student", "model_ema", "state_dict_ema", "net", "network"];

    /// <summary>Top-level names that only occur in a bare state_dict of one of the supported families.</summary>
    private static readonly string[] ModelRoots =
    [
        "cls_token", "pos_embed", "patch_embed", "blocks", "norm", "fc_norm", "head", "reg_token", "register_tokens", "mask_token", "dist_token",
        "class_token", "conv_proj", "encoder", "heads", "vit", "embeddings", "layernorm", "classifier", "pooler",
    ];

    /// <summary>Prefixes that wrap every key of a model without changing its naming.</summary>
    private static readonly string[] TransparentPrefixes = ["module.", "_orig_mod."];

    /// <summary>The tensors of the selected state_dict, renamed without the wrapper, and what was left out.</summary>
    /// <param name="tensors">Every tensor of the file, with dotted names.</param>
    /// <param name="wrapper">A wrapper to use (for example <c>student</c> or <c>state_dict_ema</c>); null chooses automatically.</param>
    public static Selection Select(IReadOnlyList<StoredTensor> tensors, string? wrapper = null)
    {
        string? chosen = wrapper ?? ChooseWrapper(tensors);
        var notes = new List<string>();
        IEnumerable<StoredTensor> selected = tensors;
        if (chosen is not null)
        {
            string prefix = chosen + ".";
            var inside = tensors.Where(t => t.Name.StartsWith(prefix, StringComparison.Ordinal)).ToList();
            if (inside.Count == 0)
                throw new CheckpointException($"the checkpoint has no tensors under '{chosen}'; its top-level entries are {TopLevelSummary(tensors)}");
            var outside = tensors.Count - inside.Count;
            if (outside > 0) notes.Add($"ignored {outside} tensors outside '{chosen}' ({TopLevelSummary(tensors.Where(t => !t.Name.StartsWith(prefix, StringComparison.Ordinal)))})");
            selected = inside.Select(t => Renamed(t, t.Name[prefix.Length..]));
        }

        var list = selected.ToList();
        var stripped = new List<string>();
        foreach (string transparent in TransparentPrefixes)
        {
            if (list.Count > 0 && list.All(t => t.Name.StartsWith(transparent, StringComparison.Ordinal)))
            {
                list = list.Select(t => Renamed(t, t.Name[transparent.Length..])).ToList();
                stripped.Add(transparent);
            }
        }

        // DINO keeps the ViT in `backbone` next to its projection head `head` (an MLP, not a classifier).
        if (list.Any(t => t.Name.StartsWith("backbone.", StringComparison.Ordinal)))
        {
            var others = list.Where(t => !t.Name.StartsWith("backbone.", StringComparison.Ordinal)).ToList();
            if (others.Count > 0) notes.Add($"ignored {others.Count} tensors outside 'backbone' ({TopLevelSummary(others)}: DINO's projection head is not a classifier)");
            list = list.Where(t => t.Name.StartsWith("backbone.", StringComparison.Ordinal)).Select(t => Renamed(t, t.Name["backbone.".Length..])).ToList();
            stripped.Add("backbone.");
        }
        return new Selection(list, chosen, stripped, notes);
    }

    private static string? ChooseWrapper(IReadOnlyList<StoredTensor> tensors)
    {
        var roots = tensors.Select(t => TopLevel(t.Name)).ToHashSet(StringComparer.Ordinal);
        if (roots.Overlaps(ModelRoots)) return null;
        return WrapperPreference.FirstOrDefault(roots.Contains);
    }

    private static string TopLevel(string name) => name.Split('.', 2)[0];

    /// <summary>"optimizer (12), student (40)": what a set of tensors is made of, by top-level name.</summary>
    internal static string TopLevelSummary(IEnumerable<StoredTensor> tensors) =>
        string.Join(", ", tensors.GroupBy(t => TopLevel(t.Name)).Take(8).Select(g => $"{g.Key} ({g.Count()})"));

    internal static StoredTensor Renamed(StoredTensor t, string name) => new(name, t.Shape, t.DType, t.Read);

    /// <summary>The selected state_dict.</summary>
    /// <param name="Tensors">The tensors, renamed without the wrapper and prefixes.</param>
    /// <param name="Wrapper">The wrapper taken (null for a bare state_dict).</param>
    /// <param name="StrippedPrefixes">Prefixes removed from every key, in order.</param>
    /// <param name="Notes">What was left out and why, one line each.</param>
    public sealed record Selection(IReadOnlyList<StoredTensor> Tensors, string? Wrapper, IReadOnlyList<string> StrippedPrefixes, IReadOnlyList<string> Notes);
}
