using TorchSharp;
using VitSharp.Models;
using VitSharp.Registry;
using static TorchSharp.torch;

namespace VitSharp.Kernels;

/// <summary>How much of the registry's shapes a sweep covers.</summary>
public enum SweepSize
{
    /// <summary>ViT-S/16 and ViT-B/16 at 224, batch 1 and 8, heads of 10 to 21,843 classes, and the widths and token counts that have gone wrong before: the kernel tests.</summary>
    Quick,

    /// <summary>Every registered model at its own size, batch 1 and 8, with the same heads and the quick sweep's extra shapes.</summary>
    Full,
}

/// <summary>One kernel on one signature of a sweep, where it occurs, and whether <c>Auto</c> gives it that signature.</summary>
/// <param name="Kernel">The kernel's name.</param>
/// <param name="Signature">The signature, as <see cref="KernelCheckResult.Signature"/> gives it.</param>
/// <param name="UsedByAuto">Whether <c>Auto</c> picks this kernel there (for inference with packed weights, as the CLI runs; for the training shapes, with gradients).</param>
/// <param name="Where">The model layers with this signature, e.g. "vit_small_patch16_224 batch 8 fc1".</param>
public sealed record SweepEntry(string Kernel, string Signature, bool UsedByAuto, IReadOnlyList<string> Where)
{
    internal Func<KernelCheckResult> Run { get; init; } = () => throw new InvalidOperationException("a sweep entry made outside KernelSweep has no check");
}

/// <summary>
/// The kernel signatures of the registry's models (tiny to huge, patch 8 to 32, 224 to 518 pixels), at batch 1 and
/// 8: every linear layer for both oneDNN linear kernels (float32, and bfloat16 packs where the CPU and oneDNN
/// have bfloat16 instructions), the odd row counts' padded twins, heads of 10, 100, 1,000 and 21,843 classes, and the attention for
/// oneDNN's kernel (which <c>Auto</c> does not use) and libtorch's fused one; the training shapes with gradients for
/// ViT-S/16 and ViT-B/16. Shapes whose score matrices exceed 2²⁴ entries are left out of the attention checks (each
/// would need gigabytes). Linear widths that cannot be packed (<see cref="OneDnnPackedLinear.Supports"/>) are checked
/// for the unpacked kernel only. Kernels this machine does not offer (oneDNN's, off x86-64) are not listed.
/// </summary>
public static class KernelSweep
{
    private static readonly int[] HeadClasses = [10, 100, 1000, 21843];
    private static readonly string[] QuickModels = ["vit_small_patch16_224", "vit_base_patch16_224"];

    /// <summary>Widths and token counts that went wrong on one CPU or another (docs/kernels.md), at ViT-S/16's rows and width.</summary>
    private static readonly long[] ExtraWidths = [48, 80, 96, 100, 112, 144, 1008];
    private static readonly long[] ExtraTokens = [50, 65, 101, 281];

    private const long MaxCheckedScores = 1L << 24;

    /// <summary>The entries of a sweep, one per distinct (kernel, signature), in a stable order.</summary>
    public static IReadOnlyList<SweepEntry> Entries(SweepSize size)
    {
        var builder = new Builder(get_num_threads(), CpuFeatures.OneDnnRunsBfloat16());
        var models = size == SweepSize.Quick ? QuickModels : VitRegistry.Names.Where(n => n != "vit_seed").Order(StringComparer.Ordinal).ToArray();
        foreach (var name in models)
        {
            var config = VitRegistry.Get(name);
            foreach (int batch in new[] { 1, 8 }) builder.AddModel(name, config, batch);
        }
        foreach (var name in QuickModels)
            builder.AddTraining(name, VitRegistry.Get(name), batch: 8);
        var small = VitRegistry.Get("vit_small_patch16_224");
        foreach (long width in ExtraWidths) builder.AddLinear("extra width", rows: 197, small.EmbedDim, width, bias: true, gradients: false);
        foreach (long tokens in ExtraTokens) builder.AddAttention("extra tokens", batch: 1, tokens, small.NumHeads, small.EmbedDim / small.NumHeads);
        return builder.Entries();
    }

    private sealed class Builder(int threads, bool bf16)
    {
        private readonly Dictionary<(string, string), (SweepEntry Entry, List<string> Where)> entries = [];
        private readonly List<(string, string)> order = [];

        public void AddModel(string name, VitConfig config, int batch)
        {
            var grid = config.GridSize;
            long tokens = (long)grid.Height * grid.Width + config.NumPrefixTokens;
            long rows = batch * tokens, dim = config.EmbedDim, hidden = (long)(dim * config.MlpRatio);
            string at = $"{name} batch {batch}";
            AddLinear($"{at} qkv", rows, dim, 3 * dim, config.QkvBias, gradients: false);
            AddLinear($"{at} proj", rows, dim, dim, bias: true, gradients: false);
            AddLinear($"{at} fc1", rows, dim, hidden, bias: true, gradients: false);
            AddLinear($"{at} fc2", rows, hidden, dim, bias: true, gradients: false);
            foreach (int classes in config.NumClasses > 0 ? HeadClasses.Append(config.NumClasses).Distinct() : HeadClasses)
                AddLinear($"{at} head of {classes}", batch, dim, classes, bias: true, gradients: false);
            AddAttention(at, batch, tokens, config.NumHeads, dim / config.NumHeads);
        }

        public void AddTraining(string name, VitConfig config, int batch)
        {
            var grid = config.GridSize;
            long rows = batch * ((long)grid.Height * grid.Width + config.NumPrefixTokens), dim = config.EmbedDim, hidden = (long)(dim * config.MlpRatio);
            string at = $"{name} training batch {batch}";
            AddLinear($"{at} qkv", rows, dim, 3 * dim, config.QkvBias, gradients: true);
            AddLinear($"{at} fc1", rows, dim, hidden, bias: true, gradients: true);
            AddLinear($"{at} fc2", rows, hidden, dim, bias: true, gradients: true);
        }

        public void AddLinear(string where, long rows, long inFeatures, long outFeatures, bool bias, bool gradients)
        {
            if (gradients)
            {
                if (!OneDnnLinear.IsAvailable) return;
                bool autoUses = KernelSelection.ChooseLinear(LinearKernel.Auto, rows, inFeatures, outFeatures, ScalarType.Float32, DeviceType.CPU, gradients: true, servingPack: false) == KernelSelection.LinearPath.OneDnn;
                Add(where, new OneDnnLinear.Signature(rows, inFeatures, outFeatures, bias, Gradients: true, threads), autoUses);
                return;
            }
            bool packable = OneDnnPackedLinear.IsAvailable && OneDnnPackedLinear.SupportsWidths(inFeatures, outFeatures);
            foreach (var dtype in !packable ? [] : bf16 ? new[] { ScalarType.Float32, ScalarType.BFloat16 } : [ScalarType.Float32])
            {
                bool packedByAuto = KernelSelection.ChooseLinear(LinearKernel.Auto, rows, inFeatures, outFeatures, dtype, DeviceType.CPU, gradients: false, servingPack: true) == KernelSelection.LinearPath.Packed;
                Add(where, new OneDnnPackedLinear.Signature(rows, inFeatures, outFeatures, bias, dtype, threads), packedByAuto);
                // An odd row count may run on one more row (PackedLinearRowPadding): that is a signature too.
                if ((rows & 1) == 1) Add(where + " (padded to an even row count)", new OneDnnPackedLinear.Signature(rows + 1, inFeatures, outFeatures, bias, dtype, threads), packedByAuto);
            }
            if (!OneDnnLinear.IsAvailable) return;
            bool plainByAuto = KernelSelection.ChooseLinear(LinearKernel.Auto, rows, inFeatures, outFeatures, ScalarType.Float32, DeviceType.CPU, gradients: false, servingPack: false) == KernelSelection.LinearPath.OneDnn;
            Add(where + " (unpacked)", new OneDnnLinear.Signature(rows, inFeatures, outFeatures, bias, Gradients: false, threads), plainByAuto);
        }

        public void AddAttention(string where, long batch, long tokens, int heads, long headDim)
        {
            var plan = KernelSelection.ChooseAttention(AttentionKernel.Auto, batch, tokens, heads, headDim, ScalarType.Float32, DeviceType.CPU, gradients: false, dropout: false);
            long scores = batch * heads * tokens * tokens;
            if (OneDnnAttention.IsAvailable && scores <= MaxCheckedScores)
                Add($"{where} attention", new OneDnnAttention.Signature(batch, tokens, heads, headDim, threads), plan.TryOneDnn);
            if (scores <= MaxCheckedScores)
                Add($"{where} attention", new FusedAttentionCheck(batch, tokens, heads, headDim, threads), !plan.TryOneDnn && !plan.Math);
        }

        private void Add<TSignature>(string where, TSignature signature, bool autoUses) where TSignature : struct, IKernelSignature, IEquatable<TSignature>
        {
            var key = (signature.Kernel, signature.Describe());
            if (entries.TryGetValue(key, out var known))
            {
                known.Where.Add(where);
                if (autoUses && !known.Entry.UsedByAuto) entries[key] = (known.Entry with { UsedByAuto = true }, known.Where);
                return;
            }
            var list = new List<string> { where };
            entries[key] = (new SweepEntry(key.Item1, key.Item2, autoUses, list) { Run = () => KernelChecks.Verdict(signature) }, list);
            order.Add(key);
        }

        public IReadOnlyList<SweepEntry> Entries() => [.. order.Select(key => entries[key].Entry)];
    }
}
