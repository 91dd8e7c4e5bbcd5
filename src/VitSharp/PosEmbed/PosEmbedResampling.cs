namespace VitSharp.PosEmbed;

/// <summary>The interpolation kernel used to resample a position-embedding grid.</summary>
public enum PosEmbedInterpolation
{
    Bicubic,
    Bilinear,
    Nearest,
}

/// <summary>When a family returns its table unchanged instead of interpolating.</summary>
/// <remarks>
/// Upstream rules are phrased with token counts (timm: same count and a square target; torchvision: same
/// sequence length), which only mean "same grid" for square source grids. VitSharp always passes the source grid,
/// so it states the rule on grids: a same-count, different-shape target (14×14 → 7×28) is always resampled.
/// </remarks>
public enum PosEmbedSkipRule
{
    /// <summary>timm, torchvision: when the target grid equals the source grid.</summary>
    SameGrid,

    /// <summary>
    /// DINO, DINOv2, Hugging Face (<c>npatch == N and w == h</c>): the same grid and a square image. A non-square image
    /// whose grid is unchanged (e.g. 224×230 at patch 16) is still interpolated, and with DINO's +0.1 scale that
    /// changes the table.
    /// </summary>
    SameGridSquareImage,
}

/// <summary>
/// How one PyTorch family resamples a learned position embedding to a new grid: every argument of its
/// <c>F.interpolate</c> call, stated rather than implied. Use a preset (<see cref="Timm"/>, <see cref="DinoV1"/>, ...)
/// or <see cref="FromName"/>, and adjust it with <c>with</c> (e.g. <c>PosEmbedResampling.Timm with { Antialias = false }</c>).
/// See docs/posembed.md for how each preset was read off its project's code.
/// </summary>
public sealed record PosEmbedResampling
{
    /// <summary>The preset's name, as accepted by <see cref="FromName"/>.</summary>
    public required string Name { get; init; }

    public PosEmbedInterpolation Mode { get; init; } = PosEmbedInterpolation.Bicubic;

    /// <summary>PyTorch's <c>antialias</c> flag (bilinear and bicubic only; changes bicubic even when upsampling).</summary>
    public bool Antialias { get; init; }

    /// <summary>PyTorch's <c>align_corners</c>; null leaves PyTorch's default (false for bilinear/bicubic).</summary>
    public bool? AlignCorners { get; init; }

    /// <summary>
    /// Null: interpolate with <c>size=(h, w)</c>. A value <c>o</c>: interpolate with
    /// <c>scale_factor=((h + o) / old_h, (w + o) / old_w)</c> as DINO does, which the kernel uses as given
    /// (so the result differs from <c>size=</c> even when the output shape is the same).
    /// </summary>
    public double? ScaleOffset { get; init; }

    public PosEmbedSkipRule Skip { get; init; } = PosEmbedSkipRule.SameGrid;

    /// <summary>timm <c>resample_abs_pos_embed</c>: <c>size=</c>, bicubic, antialias on.</summary>
    public static PosEmbedResampling Timm { get; } = new() { Name = "timm", Antialias = true };

    /// <summary>timm FlexiViT models: <c>size=</c>, bilinear, no antialias.</summary>
    public static PosEmbedResampling TimmFlexi { get; } = new() { Name = "timm_flexi", Mode = PosEmbedInterpolation.Bilinear };

    /// <summary>DINO v1 <c>interpolate_pos_encoding</c> (the seed's function): bicubic with <c>scale_factor</c> and the +0.1 offset.</summary>
    public static PosEmbedResampling DinoV1 { get; } = new() { Name = "dino", ScaleOffset = 0.1, Skip = PosEmbedSkipRule.SameGridSquareImage };

    /// <summary>DINOv2 hub models without registers: <c>interpolate_offset=0.1</c>, <c>interpolate_antialias=False</c>.</summary>
    public static PosEmbedResampling DinoV2 { get; } = new() { Name = "dinov2", ScaleOffset = 0.1, Skip = PosEmbedSkipRule.SameGridSquareImage };

    /// <summary>DINOv2 hub models with registers: <c>interpolate_offset=0</c> (so <c>size=</c>), antialias on.</summary>
    public static PosEmbedResampling DinoV2Reg { get; } = new() { Name = "dinov2_reg", Antialias = true, Skip = PosEmbedSkipRule.SameGridSquareImage };

    /// <summary>Hugging Face transformers ViT since PR #33226: <c>size=</c>, bicubic, <c>align_corners=False</c>, no antialias.</summary>
    public static PosEmbedResampling HuggingFace { get; } = new() { Name = "hf", AlignCorners = false, Skip = PosEmbedSkipRule.SameGridSquareImage };

    /// <summary>Hugging Face transformers ViT before PR #33226: DINO's +0.1 <c>scale_factor</c>, <c>align_corners=False</c>.</summary>
    public static PosEmbedResampling HuggingFaceLegacy { get; } = new() { Name = "hf_legacy", AlignCorners = false, ScaleOffset = 0.1, Skip = PosEmbedSkipRule.SameGridSquareImage };

    /// <summary>torchvision <c>interpolate_embeddings</c>: <c>size=</c>, bicubic, <c>align_corners=True</c>.</summary>
    public static PosEmbedResampling TorchVision { get; } = new() { Name = "torchvision", AlignCorners = true, Skip = PosEmbedSkipRule.SameGrid };

    public static IReadOnlyList<PosEmbedResampling> Presets { get; } = [Timm, TimmFlexi, DinoV1, DinoV2, DinoV2Reg, HuggingFace, HuggingFaceLegacy, TorchVision];

    /// <summary>A preset by name: timm, timm_flexi, dino (or dinov1), dinov2, dinov2_reg, hf, hf_legacy, torchvision. Case-insensitive; '-' works as '_'.</summary>
    public static PosEmbedResampling FromName(string name)
    {
        string key = name.Trim().ToLowerInvariant().Replace('-', '_');
        if (key == "dinov1") key = "dino";
        return Presets.FirstOrDefault(p => p.Name == key)
            ?? throw new ArgumentException($"unknown position-embedding style '{name}'; expected one of {string.Join(", ", Presets.Select(p => p.Name))}");
    }

    /// <summary>This preset with another kernel. Nearest takes neither antialias nor align_corners (PyTorch refuses both).</summary>
    public PosEmbedResampling WithMode(PosEmbedInterpolation mode) =>
        mode == PosEmbedInterpolation.Nearest
            ? this with { Mode = mode, Antialias = false, AlignCorners = null }
            : this with { Mode = mode };

    public override string ToString() =>
        $"{Name} ({Mode.ToString().ToLowerInvariant()}, antialias={Antialias}, align_corners={AlignCorners?.ToString() ?? "default"}, " +
        (ScaleOffset is { } o ? $"scale_factor with offset {o})" : "size=)");
}
