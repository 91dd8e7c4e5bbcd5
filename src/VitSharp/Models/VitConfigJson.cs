using System.Text.Json;
using System.Text.Json.Nodes;
using VitSharp.PosEmbed;

namespace VitSharp.Models;

/// <summary>
/// Reads and writes <see cref="VitConfig"/> as JSON with timm's keyword names (<c>img_size</c>, <c>patch_size</c>,
/// <c>in_chans</c>, <c>num_classes</c>, <c>embed_dim</c>, <c>depth</c>, <c>num_heads</c>, <c>mlp_ratio</c>,
/// <c>qkv_bias</c>, ...) plus <c>layer_norm_eps</c> (default 1e-6) and <c>posembed_style</c>. Keys it does not know
/// are ignored, so a timm <c>config.json</c> with extra fields reads as it is; a known key with a wrong type is an error.
/// </summary>
public static class VitConfigJson
{
    public static VitConfig Read(string path)
    {
        try
        {
            return Parse(File.ReadAllText(path), new VitConfig());
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
        {
            throw new FormatException($"{path}: {e.Message}", e);
        }
    }

    /// <summary>Overrides the fields of <paramref name="baseConfig"/> that the JSON object names.</summary>
    public static VitConfig Parse(string json, VitConfig baseConfig)
    {
        var root = JsonNode.Parse(json) as JsonObject ?? throw new FormatException("a ViT config must be a JSON object");
        var c = baseConfig;
        foreach (var (key, node) in root)
        {
            if (node is null) continue;
            c = key switch
            {
                "img_size" => c with { ImgSize = ReadSize(node, key) },
                "patch_size" => c with { PatchSize = ReadPatch(node) },
                "in_chans" => c with { InChans = node.GetValue<int>() },
                "num_classes" => c with { NumClasses = node.GetValue<int>() },
                "embed_dim" => c with { EmbedDim = node.GetValue<int>() },
                "depth" => c with { Depth = node.GetValue<int>() },
                "num_heads" => c with { NumHeads = node.GetValue<int>() },
                "mlp_ratio" => c with { MlpRatio = node.GetValue<double>() },
                "qkv_bias" => c with { QkvBias = node.GetValue<bool>() },
                "layer_norm_eps" => c with { LayerNormEps = node.GetValue<double>() },
                "class_token" => c with { ClassToken = node.GetValue<bool>() },
                "reg_tokens" => c with { RegTokens = node.GetValue<int>() },
                "no_embed_class" => c with { NoEmbedClass = node.GetValue<bool>() },
                "global_pool" => c with { GlobalPool = ReadPool(node.GetValue<string>()) },
                "fc_norm" => c with { FcNorm = node.GetValue<bool>() },
                "init_values" => c with { InitValues = node.GetValue<double>() },
                "drop_rate" => c with { DropRate = node.GetValue<double>() },
                "pos_drop_rate" => c with { PosDropRate = node.GetValue<double>() },
                "attn_drop_rate" => c with { AttnDropRate = node.GetValue<double>() },
                "drop_path_rate" => c with { DropPathRate = node.GetValue<double>() },
                "dynamic_img_pad" => c with { DynamicImgPad = node.GetValue<bool>() },
                "pos_embed" => c with { PosEmbed = ReadPosEmbedKind(node.GetValue<string>()) },
                "patch_embed" => c with { PatchEmbed = ReadPatchEmbedKind(node.GetValue<string>()) },
                "posembed_style" => c with { PosEmbedResampling = PosEmbedResampling.FromName(node.GetValue<string>()) },
                _ => c,
            };
        }
        return c.Validate();
    }

    public static string Write(VitConfig c)
    {
        var o = new JsonObject
        {
            ["img_size"] = new JsonArray(c.ImgSize.Height, c.ImgSize.Width),
            ["patch_size"] = c.PatchSize,
            ["in_chans"] = c.InChans,
            ["num_classes"] = c.NumClasses,
            ["embed_dim"] = c.EmbedDim,
            ["depth"] = c.Depth,
            ["num_heads"] = c.NumHeads,
            ["mlp_ratio"] = c.MlpRatio,
            ["qkv_bias"] = c.QkvBias,
            ["layer_norm_eps"] = c.LayerNormEps,
            ["class_token"] = c.ClassToken,
            ["reg_tokens"] = c.RegTokens,
            ["no_embed_class"] = c.NoEmbedClass,
            ["global_pool"] = c.GlobalPool == GlobalPool.Token ? "token" : "avg",
            ["fc_norm"] = c.UseFcNorm,
            ["init_values"] = c.InitValues,
            ["dynamic_img_pad"] = c.DynamicImgPad,
            ["pos_embed"] = c.PosEmbed == PosEmbedKind.Learned ? "learn" : "sincos",
            ["patch_embed"] = c.PatchEmbed == PatchEmbedKind.Conv ? "conv" : "linear",
            ["posembed_style"] = c.PosEmbedResampling.Name,
        };
        return o.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    private static GridSize ReadSize(JsonNode node, string key) => node switch
    {
        JsonArray { Count: 2 } a => new GridSize(a[0]!.GetValue<int>(), a[1]!.GetValue<int>()),
        JsonValue v => GridSize.Square(v.GetValue<int>()),
        _ => throw new FormatException($"'{key}' must be a number or [height, width]"),
    };

    private static int ReadPatch(JsonNode node) => ReadSize(node, "patch_size") is { IsSquare: true } s
        ? s.Height
        : throw new FormatException("non-square patch sizes are not supported");

    private static GlobalPool ReadPool(string value) => value switch
    {
        "token" => GlobalPool.Token,
        "avg" => GlobalPool.Avg,
        _ => throw new FormatException($"global_pool '{value}' is not supported; expected 'token' or 'avg'"),
    };

    private static PosEmbedKind ReadPosEmbedKind(string value) => value switch
    {
        "learn" or "learned" => PosEmbedKind.Learned,
        "sincos" => PosEmbedKind.SinCos,
        _ => throw new FormatException($"pos_embed '{value}' is not supported; expected 'learn' or 'sincos'"),
    };

    private static PatchEmbedKind ReadPatchEmbedKind(string value) => value switch
    {
        "conv" => PatchEmbedKind.Conv,
        "linear" => PatchEmbedKind.Linear,
        _ => throw new FormatException($"patch_embed '{value}' is not supported; expected 'conv' or 'linear'"),
    };
}
