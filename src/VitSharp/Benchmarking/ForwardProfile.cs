using System.Diagnostics;
using TorchSharp;
using VitSharp.Models;
using VitSharp.PosEmbed;
using static TorchSharp.torch;

namespace VitSharp.Benchmarking;

/// <summary>One part of a forward pass and the time spent in it.</summary>
/// <param name="Part">What runs there.</param>
/// <param name="Milliseconds">Mean time per pass.</param>
/// <param name="Share">Fraction of the whole pass.</param>
/// <param name="Gflops">Achieved rate for the matrix products, null for the memory-bound parts.</param>
public sealed record ProfilePart(string Part, double Milliseconds, double Share, double? Gflops);

/// <summary>
/// Where a forward pass's time goes: forward pre- and post-hooks on the model's modules add up the wall time spent
/// in each kind of layer over a number of passes (in inference mode, on CPU where an operation returns when its
/// work is done). Nested layers are separated: the attention core is the attention module minus its two
/// projections, "residual adds and glue" is each block minus what it calls.
/// </summary>
public static class ForwardProfile
{
    public static IReadOnlyList<ProfilePart> Measure(VisionTransformer model, GridSize size, int batch, ScalarType dtype, int passes, int warmup = 2)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(passes, 1);
        var grid = model.PatchEmbed.GridFor(size);
        var totals = new Dictionary<string, double>(StringComparer.Ordinal);
        var starts = new Dictionary<string, long>(StringComparer.Ordinal);
        var removers = new List<Action>();
        bool recording = false;

        foreach (var (name, module) in model.named_modules())
        {
            string? kind = Kind(name);
            if (kind is null || module is not nn.Module<Tensor, Tensor> hookable) continue;
            removers.Add(hookable.register_forward_pre_hook(_ => { if (recording) starts[name] = Stopwatch.GetTimestamp(); }).remove);
            removers.Add(hookable.register_forward_hook(_ =>
            {
                if (!recording) return;
                totals[kind] = totals.GetValueOrDefault(kind) + Stopwatch.GetElapsedTime(starts[name]).TotalMilliseconds;
            }).remove);
        }

        double wholeMs = 0;
        try
        {
            model.eval();
            using var input = randn([batch, model.Config.InChans, size.Height, size.Width], dtype: dtype, device: model.PosEmbedParameter.device);
            using var _ = inference_mode();
            for (int i = 0; i < warmup; i++) using (model.call(input)) { }
            recording = true;
            for (int i = 0; i < passes; i++)
            {
                long start = Stopwatch.GetTimestamp();
                using (model.call(input)) { }
                wholeMs += Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            }
        }
        finally
        {
            foreach (var remove in removers) remove();
        }

        double Take(string kind) => totals.GetValueOrDefault(kind) / passes;
        var c = model.Config;
        double tokens = grid.Count + c.NumPrefixTokens, d = c.EmbedDim, hidden = Math.Floor(d * c.MlpRatio), images = batch, depth = c.Depth;
        double perPass = wholeMs / passes;
        var parts = new List<(string Part, double Ms, double? Flops)>
        {
            ("patch embedding", Take("patch_embed"), VitFlops.PerImage(c with { Depth = 0, NumClasses = 0 }, size) * images),
            ("LayerNorm", Take("block_norm") + Take("final_norm"), null),
            ("attention qkv projection", Take("qkv"), 2 * tokens * d * 3 * d * depth * images),
            ("attention core (q·kᵀ, softmax, ·v) and reshapes", Take("attn") - Take("qkv") - Take("proj"), 4 * tokens * tokens * d * depth * images),
            ("attention output projection", Take("proj"), 2 * tokens * d * d * depth * images),
            ("MLP fc1", Take("fc1"), 2 * tokens * d * hidden * depth * images),
            ("GELU", Take("act"), null),
            ("MLP fc2", Take("fc2"), 2 * tokens * d * hidden * depth * images),
            ("residual adds and glue inside blocks", Take("block") - Take("attn") - Take("mlp") - Take("block_norm"), null),
            ("MLP glue (dropout, calls)", Take("mlp") - Take("fc1") - Take("act") - Take("fc2"), null),
            ("head", Take("head"), 2 * d * c.NumClasses * images),
        };
        double accounted = parts.Sum(p => p.Ms);
        parts.Add(("outside the layers (class token, position table, pooling)", perPass - accounted, null));
        return [.. parts.Select(p => new ProfilePart(p.Part, Math.Max(0, p.Ms), Math.Max(0, p.Ms) / perPass, p.Flops is { } f && p.Ms > 0 ? f / (p.Ms / 1000) / 1e9 : null)),
            new ProfilePart("whole forward pass", perPass, 1, VitFlops.PerImage(c, size) * images / (perPass / 1000) / 1e9)];
    }

    /// <summary>The bucket of a module path, or null for modules not timed on their own.</summary>
    private static string? Kind(string name)
    {
        string last = name[(name.LastIndexOf('.') + 1)..];
        if (name == "patch_embed") return "patch_embed";
        if (name is "norm" or "fc_norm") return "final_norm";
        if (name == "head") return "head";
        if (!name.StartsWith("blocks.", StringComparison.Ordinal)) return null;
        int depth = name.Count(ch => ch == '.');
        return (depth, last) switch
        {
            (1, _) => "block",
            (2, "norm1" or "norm2") => "block_norm",
            (2, "attn") => "attn",
            (2, "mlp") => "mlp",
            (3, "qkv") => "qkv",
            (3, "proj") => "proj",
            (3, "fc1") => "fc1",
            (3, "act") => "act",
            (3, "fc2") => "fc2",
            _ => null,
        };
    }
}
