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
    /// <summary>A complete configuration (VitSharp's export config or a timm architecture name); tensors still decide the shapes.</summary>
    public VitConfig? Config { get; init; }
    public int? NumHeads { get; init; }
    public double? LayerNormEps { get; init; }
    public GridSize? ImgSize { get; init; }

    /// <summary>Class names by index, when the config has them (Hugging Face <c>id2label</c>, timm <c>label_names</c>).</summary>
    public IReadOnlyList<string>? Labels { get; init; }

    /// <summary>Where the hints came from, for reports.</summary>
    public string? Source { get; init; }

    /// <summary>No hints.</summary>
    public static ArchitectureHints None { get; } = new();

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
            if (File.Exists(candidate)) return FromFile(candidate);
        return None;
    }

    /// <summary>Reads a VitSharp, timm or Hugging Face config file.</summary>
    /// <exception cref="CheckpointException">The file is not JSON or not a ViT config.</exception>
    public static ArchitectureHints FromFile(string path)
    {
        try
        {
            return FromJson(File.ReadAllText(path)) with { Source = path };
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
        return new ArchitectureHints { Config = VitConfigJson.Parse(json, new VitConfig()), Labels = ReadLabels(root["label_names"]) };
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
        return new ArchitectureHints { Config = config, ImgSize = image, Labels = ReadLabels(root["label_names"]) };
    }

    private static List<string>? ReadLabels(JsonNode? node) =>
        node is JsonArray array ? array.Select(n => n!.GetValue<string>()).ToList() : null;
}
