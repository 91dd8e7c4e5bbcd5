using TorchSharp;
using VitSharp.IO;
using static TorchSharp.torch;

namespace VitSharp.Bench.LoadMemory;

/// <summary>The parameter names and shapes of timm's vit_base_patch16_224 (86.6M float32 parameters) or vit_large_patch16_224 (304M).</summary>
internal sealed record VitCheckpointShape(string Name, int Width, int Depth)
{
    public static readonly VitCheckpointShape Base = new("vit_base_patch16_224", 768, 12);
    public static readonly VitCheckpointShape Large = new("vit_large_patch16_224", 1024, 24);

    public static VitCheckpointShape Parse(string name) => name switch
    {
        "base" => Base,
        "large" => Large,
        _ => throw new ArgumentException($"unknown size '{name}' (base or large)"),
    };

    private const int Classes = 1000;

    public IEnumerable<(string Name, long[] Shape)> Parameters()
    {
        int mlp = 4 * Width;
        yield return ("cls_token", [1, 1, Width]);
        yield return ("pos_embed", [1, 197, Width]);
        yield return ("patch_embed.proj.weight", [Width, 3, 16, 16]);
        yield return ("patch_embed.proj.bias", [Width]);
        for (int i = 0; i < Depth; i++)
        {
            string block = $"blocks.{i}.";
            yield return (block + "norm1.weight", [Width]);
            yield return (block + "norm1.bias", [Width]);
            yield return (block + "attn.qkv.weight", [3 * Width, Width]);
            yield return (block + "attn.qkv.bias", [3 * Width]);
            yield return (block + "attn.proj.weight", [Width, Width]);
            yield return (block + "attn.proj.bias", [Width]);
            yield return (block + "norm2.weight", [Width]);
            yield return (block + "norm2.bias", [Width]);
            yield return (block + "mlp.fc1.weight", [mlp, Width]);
            yield return (block + "mlp.fc1.bias", [mlp]);
            yield return (block + "mlp.fc2.weight", [Width, mlp]);
            yield return (block + "mlp.fc2.bias", [Width]);
        }
        yield return ("norm.weight", [Width]);
        yield return ("norm.bias", [Width]);
        yield return ("head.weight", [Classes, Width]);
        yield return ("head.bias", [Classes]);
    }

    /// <summary>Writes random weights with these names and shapes to <paramref name="path"/>.</summary>
    public void Write(string path)
    {
        using DisposeScope scope = NewDisposeScope();
        manual_seed(0);
        var tensors = Parameters().ToDictionary(p => p.Name, p => randn(p.Shape, ScalarType.Float32) * 0.02f);
        SafeTensors.Write(path, tensors, new Dictionary<string, string> { ["format"] = "pt" });
    }
}
