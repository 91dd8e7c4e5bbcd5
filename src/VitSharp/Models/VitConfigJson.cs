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
            return Parse(IO.InputFile.ReadAllText(path), new VitConfig());
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
                "conv_stem" => c with { ConvStem = ReadConvStem(node) },
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
            ["patch_embed"] = c.PatchEmbed switch { PatchEmbedKind.Conv => "conv", PatchEmbedKind.Linear => "linear", _ => "conv_stem" },
            ["posembed_style"] = c.PosEmbedResampling.Name,
        };
        if (c.ConvStem is { } stem)
        {
            o["conv_stem"] = new JsonObject
            {
                ["channels"] = new JsonArray([.. stem.Channels.Select(v => (JsonNode)v)]),
                ["strides"] = new JsonArray([.. stem.Strides.Select(v => (JsonNode)v)]),
                ["kernel_sizes"] = new JsonArray([.. stem.KernelSizes.Select(v => (JsonNode)v)]),
                ["padding"] = stem.Padding,
                ["act"] = stem.Activation == StemActivation.Relu ? "relu" : "gelu",
                ["proj"] = stem.Proj,
                ["norm"] = StemNormName(stem.Norm),
            };
        }
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
        "conv_stem" => PatchEmbedKind.ConvStem,
        _ => throw new FormatException($"patch_embed '{value}' is not supported; expected 'conv', 'linear' or 'conv_stem'"),
    };

    /// <summary><c>{"channels": [..], "strides": [..], "kernel_sizes": [..], "padding": N|null, "act": "relu"|"gelu", "proj": bool, "norm": "batchnorm"|"groupnorm1"|"layernorm2d"}</c>;
    /// kernel sizes default to 3, the norm to batchnorm (timm's ConvStem default).</summary>
    private static ConvStemSpec ReadConvStem(JsonNode node)
    {
        var o = node as JsonObject ?? throw new FormatException("'conv_stem' must be an object with 'channels' and 'strides'");
        static int[] Ints(JsonNode? n, string key) => n is JsonArray a
            ? [.. a.Select(v => v?.GetValue<int>() ?? throw new FormatException($"conv_stem '{key}' holds a null"))]
            : throw new FormatException($"conv_stem '{key}' must be an array of integers");
        return new ConvStemSpec(
            Ints(o["channels"], "channels"),
            Ints(o["strides"], "strides"),
            o["kernel_sizes"] is { } k ? Ints(k, "kernel_sizes") : null,
            o["padding"]?.GetValue<int>(),
            o["act"]?.GetValue<string>() switch
            {
                null or "relu" => StemActivation.Relu,
                "gelu" => StemActivation.Gelu,
                var other => throw new FormatException($"conv_stem act '{other}' is not supported; expected 'relu' or 'gelu'"),
            },
            o["proj"]?.GetValue<bool>() ?? false,
            o["norm"]?.GetValue<string>() switch
            {
                null or "batchnorm" => StemNorm.BatchNorm,
                "groupnorm1" => StemNorm.GroupNorm1,
                "layernorm2d" => StemNorm.LayerNorm2d,
                var other => throw new FormatException($"conv_stem norm '{other}' is not supported; expected 'batchnorm', 'groupnorm1' or 'layernorm2d'"),
            });
    }

    /// <summary>timm's name of the norm layer (<c>timm.layers.get_norm_act_layer</c>).</summary>
    public static string StemNormName(StemNorm norm) => norm switch
    {
        StemNorm.BatchNorm => "batchnorm",
        StemNorm.GroupNorm1 => "groupnorm1",
        _ => "layernorm2d",
    };
}
