using System.Text.Json.Nodes;
using VitSharp.Models;
using VitSharp.PosEmbed;
using VitSharp.Registry;

namespace VitSharp.Checkpoints;

/// <summary>
/// What a checkpoint's tensors cannot say (the number of heads, LayerNorm's eps, the image size of a non-square
/// grid, the labels), read from a config file next to it: VitSharp's own export config, timm's hub
/// <c>config.json</c>, or Hugging Face's <c>config.json</c>.
/// </summary>
public sealed record ArchitectureHints
{
    /// <summary>
    /// A configuration (VitSharp's export config or a registered timm architecture) for what shapes cannot say:
    /// the position-embedding semantics and kind, dropout rates. Tensors still decide every shape, and
    /// <see cref="NumHeads"/>, <see cref="LayerNormEps"/> and <see cref="ImgSize"/> are read only from their own fields.
    /// </summary>
    public VitConfig? Config { get; init; }

    /// <summary>Attention heads (no tensor stores them).</summary>
    public int? NumHeads { get; init; }

    /// <summary>LayerNorm's eps (no tensor stores it).</summary>
    public double? LayerNormEps { get; init; }

    /// <summary>The image size the checkpoint was trained at, which fixes the grid of a non-square table.</summary>
    public GridSize? ImgSize { get; init; }

    /// <summary>Class names by index, when the config has them (Hugging Face <c>id2label</c>, timm <c>label_names</c>).</summary>
    public IReadOnlyList<string>? Labels { get; init; }

    /// <summary>Where the hints came from, for reports.</summary>
    public string? Source { get; init; }

    /// <summary>No hints.</summary>
    public static ArchitectureHints None { get; } = new();

    /// <summary>Everything a complete configuration (a registered architecture, say) can tell.</summary>
    public static ArchitectureHints FromConfig(VitConfig config, string? source = null) => new()
    {
        Config = config,
        NumHeads = config.NumHeads,
        LayerNormEps = config.LayerNormEps,
        ImgSize = config.ImgSize,
        Source = source,
    };

    /// <summary>Keys of which a VitSharp (timm keyword) config must have at least one, so any other JSON is not mistaken for one.</summary>
    private static readonly string[] VitConfigKeys = ["embed_dim", "num_heads", "depth", "patch_size", "img_size"];

    /// <summary>
    /// The hints beside <paramref name="checkpointPath"/>: <c>NAME.json</c> (VitSharp's export) or <c>config.json</c>
    /// in the same folder (timm and Hugging Face hub layouts), or <see cref="None"/>.
    /// </summary>
    public static ArchitectureHints FindBeside(string checkpointPath)
    {
        string folder = Path.GetDirectoryName(Path.GetFullPath(checkpointPath))!;
        string stem = Path.GetFileName(checkpointPath);
        foreach (string ext in new[] { ".safetensors", ".pth.tar", ".pth", ".pt", ".bin", ".ckpt" })
            if (stem.EndsWith(ext, StringComparison.OrdinalIgnoreCase)) { stem = stem[..^ext.Length]; break; }
        foreach (string candidate in new[] { Path.Combine(folder, stem + ".json"), Path.Combine(folder, "config.json") })
        {
            // A JSON file that is not a ViT config (a training log, another model's config) is not a hint.
            if (File.Exists(candidate) && IsVitConfig(candidate)) return FromFile(candidate);
        }
        return None;
    }

    private static bool IsVitConfig(string path)
    {
        try
        {
            return JsonNode.Parse(IO.InputFile.ReadAllText(path)) is JsonObject root
                && (root["model_type"]?.GetValue<string>() == "vit" || root.ContainsKey("architecture") || VitConfigKeys.Any(root.ContainsKey));
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException or FormatException)
        {
            return false;
        }
    }

    /// <summary>Reads a VitSharp, timm or Hugging Face config file.</summary>
    /// <exception cref="CheckpointException">The file is not JSON or not a ViT config.</exception>
    public static ArchitectureHints FromFile(string path)
    {
        try
        {
            return FromJson(IO.InputFile.ReadAllText(path)) with { Source = path };
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or FormatException or InvalidOperationException or ArgumentException)
        {
            throw new CheckpointException($"config '{path}' cannot be read as a ViT config: {e.Message}");
        }
    }

    /// <summary>Parses a VitSharp, timm or Hugging Face config object.</summary>
    public static ArchitectureHints FromJson(string json)
    {
        var root = JsonNode.Parse(json) as JsonObject ?? throw new FormatException("a config must be a JSON object");
        if (root["model_type"]?.GetValue<string>() is { } modelType)
        {
            if (modelType != "vit") throw new FormatException($"Hugging Face model_type '{modelType}' is not a plain ViT ('vit')");
            return FromHuggingFace(root);
        }
        if (root["architecture"]?.GetValue<string>() is { } architecture)
            return FromTimmHub(root, architecture);
        if (!VitConfigKeys.Any(root.ContainsKey))
            throw new FormatException($"it has none of {string.Join(", ", VitConfigKeys)} (nor Hugging Face's model_type or timm's architecture)");
        var config = VitConfigJson.Parse(json, new VitConfig());
        return new ArchitectureHints
        {
            Config = config,
            // Only what the file states: a default filled in by the parser is not a hint.
            NumHeads = root.ContainsKey("num_heads") ? config.NumHeads : null,
            LayerNormEps = root.ContainsKey("layer_norm_eps") ? config.LayerNormEps : null,
            ImgSize = root.ContainsKey("img_size") ? config.ImgSize : null,
            Labels = ReadLabels(root["label_names"]),
        };
    }

    private static ArchitectureHints FromHuggingFace(JsonObject root)
    {
        int? image = root["image_size"]?.GetValue<int>();
        return new ArchitectureHints
        {
            NumHeads = root["num_attention_heads"]?.GetValue<int>(),
            // transformers' ViTConfig default: a config without the field means 1e-12.
            LayerNormEps = root["layer_norm_eps"]?.GetValue<double>() ?? 1e-12,
            ImgSize = image is { } side ? GridSize.Square(side) : null,
            Labels = root["id2label"] is JsonObject labels
                ? labels.OrderBy(p => int.Parse(p.Key, System.Globalization.CultureInfo.InvariantCulture)).Select(p => p.Value!.GetValue<string>()).ToList()
                : null,
        };
    }

    private static ArchitectureHints FromTimmHub(JsonObject root, string architecture)
    {
        string baseName = architecture.Split('.')[0];
        VitConfig? config = VitRegistry.Names.Contains(baseName) ? VitRegistry.Get(baseName) : null;
        GridSize? image = root["pretrained_cfg"]?["input_size"] is JsonArray { Count: 3 } size
            ? new GridSize(size[1]!.GetValue<int>(), size[2]!.GetValue<int>())
            : null;
        var hints = config is null ? new ArchitectureHints() : FromConfig(config);
        return hints with { ImgSize = image ?? hints.ImgSize, Labels = ReadLabels(root["label_names"]) };
    }

    private static List<string>? ReadLabels(JsonNode? node) =>
        node is JsonArray array ? array.Select(n => n!.GetValue<string>()).ToList() : null;
}
