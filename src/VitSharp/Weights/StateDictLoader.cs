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
/// Fills a module's parameters and buffers from a name → tensor dictionary, checking names and shapes first
/// (TorchSharp's <c>load_state_dict</c> checks names only, and its copy may broadcast a wrong shape silently).
/// Values are converted to each parameter's dtype and device.
/// </summary>
public static class StateDictLoader
{
    /// <param name="model">The module to fill.</param>
    /// <param name="weights">Tensors by state_dict key; they are copied, not kept.</param>
    /// <param name="strict">When true, missing or unexpected keys are errors; shape mismatches always are.</param>
    public static LoadReport Load(nn.Module model, IReadOnlyDictionary<string, Tensor> weights, bool strict = true)
    {
        var expected = model.state_dict();
        var missing = expected.Keys.Where(k => !weights.ContainsKey(k)).ToList();
        var unexpected = weights.Keys.Where(k => !expected.ContainsKey(k)).ToList();
        var mismatches = expected
            .Where(e => weights.TryGetValue(e.Key, out var w) && !w.shape.SequenceEqual(e.Value.shape))
            .Select(e => new ShapeMismatch(e.Key, e.Value.shape, weights[e.Key].shape))
            .ToList();
        var report = new LoadReport(missing, unexpected, mismatches);

        if (mismatches.Count > 0 || (strict && !report.IsClean))
            throw new WeightsLoadException($"weights do not fit the model: {report.Describe()}");

        using var scope = NewDisposeScope();
        var matched = expected.Keys.Where(weights.ContainsKey)
            .ToDictionary(k => k, k => weights[k].to(expected[k].dtype, expected[k].device));
        using (no_grad())
        {
            model.load_state_dict(matched, strict: false);
        }
        return report;
    }
}
