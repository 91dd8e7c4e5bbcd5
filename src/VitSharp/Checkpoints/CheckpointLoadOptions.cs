using VitSharp.Models;
using VitSharp.PosEmbed;
using static TorchSharp.torch;

namespace VitSharp.Checkpoints;

/// <summary>How <see cref="CheckpointLoader"/> reads a checkpoint. Every field is optional: by default the family,
/// wrapper and architecture are detected, and the model is built exactly as the checkpoint was trained.</summary>
public sealed record CheckpointLoadOptions
{
    /// <summary>The wrapper holding the weights (<c>teacher</c>, <c>student</c>, <c>state_dict_ema</c>, ...); null chooses.</summary>
    public string? Wrapper { get; init; }

    /// <summary>Force the naming family instead of detecting it.</summary>
    public CheckpointFamily? Family { get; init; }

    /// <summary>Config values the tensors cannot give; null reads <c>NAME.json</c> or <c>config.json</c> beside the file.</summary>
    public ArchitectureHints? Hints { get; init; }

    /// <summary>Attention heads, on top of whatever config is used (the one given, in the file's metadata or beside it): it replaces only the head count.</summary>
    public int? NumHeads { get; init; }

    /// <summary>
    /// Changes to the inferred architecture: another image size (the position table is resampled on load), another
    /// patch size (the kernel is resampled, FlexiViT-style), another number of classes (a new head), heads or eps.
    /// </summary>
    public Func<VitConfig, VitConfig>? Configure { get; init; }

    /// <summary>When true (the default) any missing, unexpected or unknown key is an error.</summary>
    public bool Strict { get; init; } = true;

    /// <summary>How the position table is resampled when the model's grid differs from the file's (timm's checkpoint filter by default).</summary>
    public PosEmbedResampling LoadResampling { get; init; } = PosEmbedResampling.Timm;

    /// <summary>The semantics the loaded model uses at other input sizes; null = the family's own.</summary>
    public PosEmbedResampling? RuntimeResampling { get; init; }

    /// <summary>Where the model lives; null = CPU.</summary>
    public Device? Device { get; init; }
}
