using VitSharp.IO;
using VitSharp.Models;
using static TorchSharp.torch;

namespace VitSharp.Checkpoints;

/// <summary>
/// Saves a model as a safetensors file in timm's naming, which PyTorch loads with a plain
/// <c>load_state_dict</c> into timm's <c>VisionTransformer</c> (or <c>timm.create_model(...,
/// pretrained_cfg_overlay=dict(file=...))</c>), plus its config as JSON: inside the file's metadata, and beside
/// it as <c>NAME.json</c> with timm's keyword names. Both files are written atomically.
/// </summary>
public static class CheckpointExporter
{
    /// <param name="model">The model to save; it is not modified.</param>
    /// <param name="path">The <c>.safetensors</c> file to write; <c>NAME.json</c> is written beside it.</param>
    /// <param name="dtype">The stored dtype of floating-point tensors (float32, float16 or bfloat16); null keeps each tensor's.</param>
    /// <param name="metadata">Extra string metadata (a description, a source).</param>
    /// <param name="labels">Class names by index, stored in the config as timm's <c>label_names</c>.</param>
    /// <returns>The path of the JSON config written beside the weights.</returns>
    public static string Save(VisionTransformer model, string path, ScalarType? dtype = null, IReadOnlyDictionary<string, string>? metadata = null, IReadOnlyList<string>? labels = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (dtype is { } d && d is not (ScalarType.Float32 or ScalarType.Float16 or ScalarType.BFloat16))
            throw new ArgumentException($"export dtype must be float32, float16 or bfloat16, not {d}");

        var config = System.Text.Json.Nodes.JsonNode.Parse(VitConfigJson.Write(model.Config with { PosEmbedResampling = model.PosEmbedResampling }))!;
        if (labels is not null) config["label_names"] = new System.Text.Json.Nodes.JsonArray([.. labels.Select(l => System.Text.Json.Nodes.JsonValue.Create(l))]);
        string configJson = config.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true });
        var meta = new Dictionary<string, string>(metadata ?? new Dictionary<string, string>(), StringComparer.Ordinal)
        {
            // Python's safetensors.torch.load_file and timm look for format "pt".
            ["format"] = "pt",
            [CheckpointLoader.ConfigMetadataKey] = configJson,
        };

        using var scope = NewDisposeScope();
        var tensors = model.state_dict().ToDictionary(
            kv => kv.Key,
            kv => dtype is { } target && kv.Value.is_floating_point() ? kv.Value.detach().to(target, CPU) : kv.Value.detach().cpu());
        SafeTensors.Write(path, tensors, meta);

        string configPath = ConfigPathFor(path);
        AtomicFile.Write(configPath, stream => stream.Write(System.Text.Encoding.UTF8.GetBytes(configJson + "\n")));
        return configPath;
    }

    /// <summary>The JSON config beside <paramref name="weightsPath"/>: the same name with <c>.json</c>.</summary>
    public static string ConfigPathFor(string weightsPath)
    {
        string name = weightsPath.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase) ? weightsPath[..^".safetensors".Length] : weightsPath;
        return name + ".json";
    }
}
