using System.Globalization;
using VitSharp.Models;

namespace VitSharp.Training;

/// <summary>
/// Splits a ViT's trainable parameters into AdamW groups the way timm does: no weight decay for 1-D tensors
/// (norms, biases, LayerScale gammas) and for the model's <see cref="VisionTransformer.NoWeightDecay"/> names; with
/// a layer decay, every layer also gets its own learning-rate scale (timm's <c>param_groups_layer_decay</c>).
/// </summary>
public static class ParamGroups
{
    /// <param name="model">The model; parameters with <c>requires_grad</c> false (a sin-cos table) are left out.</param>
    /// <param name="weightDecay">The decay of the groups that decay.</param>
    /// <param name="layerDecay">Null for one scale of 1; else layer <c>i</c> of <c>L = depth + 1</c> is scaled by <c>layerDecay^(L - i)</c>.</param>
    public static IReadOnlyList<ParamGroup> Build(VisionTransformer model, double weightDecay, double? layerDecay = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (layerDecay is { } d && d is not (> 0 and <= 1)) throw new ArgumentException($"layer decay must be in (0, 1], got {d}");
        var noDecayNames = model.NoWeightDecay();
        int depth = model.Config.Depth;
        var groups = new Dictionary<(int Layer, bool Decay), List<(string, TorchSharp.Modules.Parameter)>>();
        foreach (var (name, parameter) in model.named_parameters())
        {
            if (!parameter.requires_grad) continue;
            bool decay = !IsNoDecay(name, parameter.dim(), noDecayNames);
            // Without layer decay every parameter is in "layer" 0, so there are at most two groups.
            int layer = layerDecay is null ? 0 : LayerId(name, depth);
            if (!groups.TryGetValue((layer, decay), out var list)) groups[(layer, decay)] = list = [];
            list.Add((name, parameter));
        }
        return [.. groups.OrderBy(g => g.Key.Layer).ThenByDescending(g => g.Key.Decay).Select(g => new ParamGroup(
            layerDecay is null ? (g.Key.Decay ? "decay" : "no_decay") : $"layer_{g.Key.Layer}_{(g.Key.Decay ? "decay" : "no_decay")}",
            g.Value,
            g.Key.Decay ? weightDecay : 0.0,
            layerDecay is { } ld ? Math.Pow(ld, depth + 1 - g.Key.Layer) : 1.0))];
    }

    /// <summary>timm's rule: <c>param.ndim &lt;= 1 or name in no_weight_decay</c> (also names ending in <c>.bias</c>).</summary>
    public static bool IsNoDecay(string name, long ndim, IReadOnlySet<string> noWeightDecay) =>
        ndim <= 1 || name.EndsWith(".bias", StringComparison.Ordinal) || noWeightDecay.Contains(name);

    /// <summary>
    /// The layer of a parameter for layer-wise decay (timm's ViT <c>group_matcher</c>): 0 for the embeddings
    /// (<c>cls_token</c>, <c>reg_token</c>, <c>pos_embed</c>, <c>patch_embed.*</c>), <c>i + 1</c> for <c>blocks.i.*</c>,
    /// <c>depth + 1</c> for everything after the blocks (final norm, head).
    /// </summary>
    public static int LayerId(string name, int depth)
    {
        if (name is "cls_token" or "reg_token" or "pos_embed" || name.StartsWith("patch_embed.", StringComparison.Ordinal)) return 0;
        if (name.StartsWith("blocks.", StringComparison.Ordinal))
        {
            string index = name["blocks.".Length..].Split('.')[0];
            return int.Parse(index, NumberStyles.None, CultureInfo.InvariantCulture) + 1;
        }
        return depth + 1;
    }
}
