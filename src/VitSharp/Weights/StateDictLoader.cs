using VitSharp.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace VitSharp.Weights;

/// <summary>A tensor whose shape differs from the parameter it would fill.</summary>
public sealed record ShapeMismatch(string Key, long[] Expected, long[] Actual)
{
    public override string ToString() => $"{Key} (model [{string.Join(", ", Expected)}], file [{string.Join(", ", Actual)}])";
}

/// <summary>What a load found: parameters the file lacks, keys the model lacks, and shape disagreements, by name.</summary>
public sealed record LoadReport(IReadOnlyList<string> Missing, IReadOnlyList<string> Unexpected, IReadOnlyList<ShapeMismatch> ShapeMismatches)
{
    public bool IsClean => Missing.Count == 0 && Unexpected.Count == 0 && ShapeMismatches.Count == 0;

    /// <summary>One line naming every problem (the first few keys of each kind).</summary>
    public string Describe()
    {
        static string List<T>(IReadOnlyList<T> items) => string.Join(", ", items.Take(6)) + (items.Count > 6 ? $", ... ({items.Count} in all)" : "");
        var parts = new List<string>();
        if (Missing.Count > 0) parts.Add($"missing {List(Missing)}");
        if (Unexpected.Count > 0) parts.Add($"unexpected {List(Unexpected)}");
        if (ShapeMismatches.Count > 0) parts.Add($"shape mismatch {List(ShapeMismatches)}");
        return parts.Count == 0 ? "all keys matched" : string.Join("; ", parts);
    }
}

/// <summary>Weights that do not fit the model; the message names the keys.</summary>
public sealed class WeightsLoadException(string message) : Exception(message);

/// <summary>
/// Fills a module's parameters and buffers from named tensors, checking every name and shape before anything is
/// read or written (TorchSharp's <c>load_state_dict</c> checks names only, and its copy may broadcast a wrong
/// shape silently). Tensors are read one at a time and copied into place, so a load needs the model's memory plus
/// one tensor, not a second copy of the model. Values are converted to each parameter's dtype and device.
/// </summary>
public static class StateDictLoader
{
    /// <param name="model">The module to fill.</param>
    /// <param name="weights">Tensors by state_dict key; they are copied, not kept.</param>
    /// <param name="strict">When true, missing or unexpected keys are errors; shape mismatches always are.</param>
    public static LoadReport Load(nn.Module model, IReadOnlyDictionary<string, Tensor> weights, bool strict = true) =>
        Load(model, weights.Select(w => new StoredTensor(w.Key, w.Value.shape, w.Value.dtype, () => w.Value.alias())).ToList(), strict);

    /// <param name="model">The module to fill.</param>
    /// <param name="weights">Stored tensors by state_dict key, read one at a time.</param>
    /// <param name="strict">When true, missing or unexpected keys are errors; shape mismatches always are.</param>
    /// <param name="allowedMissing">Keys that may be missing even in strict mode (a head replaced on purpose).</param>
    /// <exception cref="WeightsLoadException">Names or shapes do not fit; nothing has been written.</exception>
    public static LoadReport Load(nn.Module model, IReadOnlyList<StoredTensor> weights, bool strict = true, IReadOnlySet<string>? allowedMissing = null)
    {
        var byName = new Dictionary<string, StoredTensor>(StringComparer.Ordinal);
        foreach (StoredTensor w in weights)
            if (!byName.TryAdd(w.Name, w)) throw new WeightsLoadException($"weights name '{w.Name}' twice");

        var expected = model.state_dict();
        var missing = expected.Keys.Where(k => !byName.ContainsKey(k)).ToList();
        var unexpected = byName.Keys.Where(k => !expected.ContainsKey(k)).ToList();
        var mismatches = expected
            .Where(e => byName.TryGetValue(e.Key, out var w) && !w.Shape.SequenceEqual(e.Value.shape))
            .Select(e => new ShapeMismatch(e.Key, e.Value.shape, byName[e.Key].Shape))
            .ToList();
        var report = new LoadReport(missing, unexpected, mismatches);

        var strictProblems = new LoadReport(missing.Where(k => allowedMissing?.Contains(k) != true).ToList(), unexpected, mismatches);
        if (mismatches.Count > 0 || (strict && !strictProblems.IsClean))
            throw new WeightsLoadException($"weights do not fit the model: {strictProblems.Describe()}");

        using (no_grad())
        {
            foreach (var (key, target) in expected)
            {
                if (!byName.TryGetValue(key, out StoredTensor? stored)) continue;
                using var scope = NewDisposeScope();
                Tensor value = stored.Read();
                if (!value.shape.SequenceEqual(target.shape))
                    throw new WeightsLoadException($"weights '{key}' read as [{string.Join(", ", value.shape)}], but its header said [{string.Join(", ", stored.Shape)}]");
                target.copy_(value);
            }
        }
        // Tables resampled from the old position embedding must not outlive it.
        if (model is Models.VisionTransformer vit) vit.ClearPosEmbedCache();
        return report;
    }
}
