using VitSharp.Models;
using VitSharp.PosEmbed;

namespace VitSharp.Registry;

/// <summary>
/// Named ViT architectures, with timm's names (<c>vit_small_patch16_224</c>, ...), DINO's hub names
/// (<c>dino_vits16</c>, ...) and the seed's defaults (<c>vit_seed</c>). Create a model with overrides:
/// <c>VitRegistry.Create("vit_small_patch16_224", c =&gt; c with { NumClasses = 10 })</c>.
/// </summary>
public static class VitRegistry
{
    private static readonly (string Size, int Dim, int Depth, int Heads)[] Sizes =
    [
        ("tiny", 192, 12, 3),
        ("small", 384, 12, 6),
        ("base", 768, 12, 12),
        ("large", 1024, 24, 16),
        ("huge", 1280, 32, 16),
    ];

    // The (size, patch, resolution) triples timm registers for the plain ViT.
    private static readonly string[] TimmNames =
    [
        "vit_tiny_patch16_224", "vit_tiny_patch16_384",
        "vit_small_patch32_224", "vit_small_patch32_384", "vit_small_patch16_224", "vit_small_patch16_384", "vit_small_patch8_224",
        "vit_base_patch32_224", "vit_base_patch32_384", "vit_base_patch16_224", "vit_base_patch16_384", "vit_base_patch8_224",
        "vit_large_patch32_224", "vit_large_patch32_384", "vit_large_patch16_224", "vit_large_patch16_384", "vit_large_patch14_224",
        "vit_huge_patch14_224",
    ];

    private static readonly Dictionary<string, VitConfig> Configs = Build();

    public static IReadOnlyCollection<string> Names => Configs.Keys;

    /// <summary>The configuration registered under <paramref name="name"/>; throws listing close names when unknown.</summary>
    public static VitConfig Get(string name)
    {
        if (Configs.TryGetValue(name, out var config)) return config;
        var close = Configs.Keys.Where(k => k.Contains(name.Split('_').FirstOrDefault(p => p.Length > 3) ?? name, StringComparison.Ordinal)).Take(6);
        throw new ArgumentException($"unknown architecture '{name}'" + (close.Any() ? $"; did you mean {string.Join(", ", close)}?" : "; 'vitsharp list' (or VitRegistry.Names) shows them all"));
    }

    public static VisionTransformer Create(string name, Func<VitConfig, VitConfig>? configure = null) =>
        new(configure is null ? Get(name) : configure(Get(name)));

    private static Dictionary<string, VitConfig> Build()
    {
        var configs = new Dictionary<string, VitConfig>(StringComparer.Ordinal);
        foreach (string name in TimmNames)
        {
            var parts = name.Split('_'); // vit, size, patchN, res
            var size = Sizes.Single(s => s.Size == parts[1]);
            configs[name] = Sized(size, patch: int.Parse(parts[2]["patch".Length..]), image: int.Parse(parts[3]));
        }

        // DeiT (Touvron et al.): the same shapes as timm's ViT of that size.
        configs["deit_tiny_patch16_224"] = configs["vit_tiny_patch16_224"];
        configs["deit_small_patch16_224"] = configs["vit_small_patch16_224"];
        configs["deit_base_patch16_224"] = configs["vit_base_patch16_224"];
        configs["deit_base_patch16_384"] = configs["vit_base_patch16_384"];

        // DINO v1 hub models: backbones without a classifier, resampled with DINO's semantics.
        foreach (var (hub, vit) in new[] { ("dino_vits16", "vit_small_patch16_224"), ("dino_vits8", "vit_small_patch8_224"), ("dino_vitb16", "vit_base_patch16_224"), ("dino_vitb8", "vit_base_patch8_224") })
            configs[hub] = configs[vit] with { NumClasses = 0, PosEmbedResampling = PosEmbedResampling.DinoV1 };

        // DINOv2 (timm names): 518 px, patch 14, LayerScale; the _reg4 variants add 4 registers and no class pos-embed (timm's conversion).
        foreach (var size in Sizes.Where(s => s.Size is "small" or "base" or "large"))
        {
            var dinov2 = Sized(size, patch: 14, image: 518) with { NumClasses = 0, InitValues = 1e-5, PosEmbedResampling = PosEmbedResampling.DinoV2 };
            configs[$"vit_{size.Size}_patch14_dinov2"] = dinov2;
            configs[$"vit_{size.Size}_patch14_reg4_dinov2"] = dinov2 with { RegTokens = 4, NoEmbedClass = true, PosEmbedResampling = PosEmbedResampling.DinoV2Reg };
        }

        // The seed tutorial's VisionTransformer defaults: ViT-B/16 at 224, qkv without bias, PyTorch's default LayerNorm eps.
        configs["vit_seed"] = new VitConfig { QkvBias = false, LayerNormEps = 1e-5, PosEmbedResampling = PosEmbedResampling.DinoV1 };
        return configs;
    }

    private static VitConfig Sized((string Size, int Dim, int Depth, int Heads) s, int patch, int image) =>
        new() { EmbedDim = s.Dim, Depth = s.Depth, NumHeads = s.Heads, PatchSize = patch, ImgSize = GridSize.Square(image) };
}
