using VitSharp.IO;

namespace VitSharp.Checkpoints.Families;

/// <summary>A family's tensors renamed (and where needed fused or folded) into VitSharp's timm layout, still unread.</summary>
/// <param name="Tensors">Tensors under timm names; reading one may read and combine several stored tensors.</param>
/// <param name="Ignored">Stored tensors deliberately left out, with the reason, one line each.</param>
/// <param name="Unknown">Stored keys the family's naming does not explain; a strict load refuses them.</param>
public sealed record MappedWeights(IReadOnlyList<StoredTensor> Tensors, IReadOnlyList<string> Ignored, IReadOnlyList<string> Unknown);

/// <summary>An ordered list of regular-expression renames; the first match wins, keys no rule matches are unknown.</summary>
internal sealed class KeyRenamer
{
    private readonly List<(System.Text.RegularExpressions.Regex Pattern, string? Replacement, string? Reason)> rules = [];

    /// <summary>Keys matching <paramref name="pattern"/> (anchored) become <paramref name="replacement"/> ($1… refer to groups).</summary>
    public KeyRenamer Rename(string pattern, string replacement)
    {
        rules.Add((Anchored(pattern), replacement, null));
        return this;
    }

    /// <summary>Keys matching <paramref name="pattern"/> are left out on purpose, for <paramref name="reason"/>.</summary>
    public KeyRenamer Ignore(string pattern, string reason)
    {
        rules.Add((Anchored(pattern), null, reason));
        return this;
    }

    public MappedWeights Apply(IEnumerable<StoredTensor> tensors)
    {
        var mapped = new List<StoredTensor>();
        var ignored = new List<string>();
        var unknown = new List<string>();
        foreach (StoredTensor t in tensors)
        {
            var rule = rules.FirstOrDefault(r => r.Pattern.IsMatch(t.Name));
            if (rule.Pattern is null) unknown.Add(t.Name);
            else if (rule.Replacement is null) ignored.Add($"{t.Name}: {rule.Reason}");
            else mapped.Add(StateDictSelection.Renamed(t, rule.Pattern.Replace(t.Name, rule.Replacement)));
        }
        return new MappedWeights(mapped, ignored, unknown);
    }

    private static System.Text.RegularExpressions.Regex Anchored(string pattern) =>
        new($"^(?:{pattern})$", System.Text.RegularExpressions.RegexOptions.CultureInvariant);
}
