using System.Text.RegularExpressions;
using VitSharp.IO;
using VitSharp.Models;
using VitSharp.PosEmbed;

namespace VitSharp.Checkpoints;

/// <summary>
/// Reads a ViT's architecture from the shapes of its timm-named tensors (no tensor is read): width, depth, patch
/// size, channels, MLP ratio, qkv bias, LayerScale, class and register tokens, pooling, classes and the grid of the
/// position table. The number of heads and LayerNorm's eps are not in any tensor: they come from hints, or from
/// the conventions of the known model sizes, and the result says which fields were guessed.
/// </summary>
public static partial class ArchitectureInference
{
    /// <summary>Heads of the published ViT widths (timm, DeiT, DINO, DINOv2, torchvision and HF all agree).</summary>
    private static readonly Dictionary<int, int> HeadsByWidth = new()
    {
        [192] = 3, [384] = 6, [768] = 12, [1024] = 16, [1280] = 16, [1408] = 16, [1536] = 24, [1664] = 16,
    };

    [GeneratedRegex(@"^blocks\.(\d+)\.")]
    private static partial Regex BlockIndex();

    /// <summary>The architecture of <paramref name="tensors"/>.</summary>
    /// <param name="tensors">Tensors under timm names (after <see cref="Families.FamilyDetector.Map"/>).</param>
    /// <param name="family">The family, for its LayerNorm eps convention.</param>
    /// <param name="hints">Config values the tensors cannot give.</param>
    /// <exception cref="CheckpointException">A required tensor is missing or the shapes contradict each other.</exception>
    public static InferredArchitecture Infer(IReadOnlyList<StoredTensor> tensors, CheckpointFamily family, ArchitectureHints hints)
    {
        var shapes = tensors.ToDictionary(t => t.Name, t => t.Shape, StringComparer.Ordinal);
        var guesses = new List<string>();
        long[] Shape(string key) => shapes.TryGetValue(key, out var s) ? s : throw new CheckpointException($"the checkpoint has no '{key}', so its architecture cannot be told");
        long[]? Maybe(string key) => shapes.GetValueOrDefault(key);
        void Require(bool ok, string problem)
        {
            if (!ok) throw new CheckpointException($"the tensors disagree with each other: {problem}");
        }

        var stem = shapes.ContainsKey(ConvStemFirstKey) ? StemOf(shapes, hints) : null;
        int dim, patch, inChans;
        if (stem is null)
        {
            long[] proj = Shape("patch_embed.proj.weight");
            Require(proj.Length == 4, $"patch_embed.proj.weight is [{Join(proj)}], not a conv kernel [dim, channels, patch, patch]");
            Require(proj[2] == proj[3], $"the patch kernel is {proj[2]}x{proj[3]}; non-square patches are not supported");
            dim = checked((int)proj[0]);
            patch = checked((int)proj[2]);
            inChans = checked((int)proj[1]);
        }
        else
        {
            dim = checked((int)Shape(stem.Proj ? "patch_embed.proj.weight" : $"patch_embed.backbone.{stem.Depth - 1}.conv.weight")[0]);
            patch = stem.TotalStride;
            inChans = checked((int)Shape(ConvStemFirstKey)[1]);
        }

        int depth = shapes.Keys.Select(k => BlockIndex().Match(k)).Where(m => m.Success).Select(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) + 1).DefaultIfEmpty(0).Max();
        Require(depth > 0, "there are no transformer blocks (blocks.N.*)");
        long[] fc1 = Shape("blocks.0.mlp.fc1.weight");
        for (int i = 0; i < depth; i++)
        {
            long[] qkv = Shape($"blocks.{i}.attn.qkv.weight");
            Require(qkv.SequenceEqual(new long[] { 3L * dim, dim }), $"blocks.{i}.attn.qkv.weight is [{Join(qkv)}], but a {dim}-wide model needs [{3 * dim}, {dim}]");
            long[] hidden = Shape($"blocks.{i}.mlp.fc1.weight");
            Require(hidden.SequenceEqual(fc1), $"blocks.{i}.mlp.fc1.weight is [{Join(hidden)}], but blocks.0's is [{Join(fc1)}]");
        }
        Require(fc1.Length == 2 && fc1[1] == dim, $"blocks.0.mlp.fc1.weight is [{Join(fc1)}], but the model is {dim} wide");

        bool classToken = shapes.ContainsKey("cls_token");
        int regTokens = Maybe("reg_token") is { Length: 3 } reg ? checked((int)reg[1]) : 0;
        int numClasses = Maybe("head.weight") is { } head ? checked((int)head[0]) : 0;
        bool fcNorm = shapes.ContainsKey("fc_norm.weight");
        var pool = fcNorm || !classToken ? GlobalPool.Avg : GlobalPool.Token;

        var baseConfig = hints.Config ?? new VitConfig();
        int heads = hints.NumHeads ?? GuessHeads(dim, guesses);
        double eps = hints.LayerNormEps ?? DefaultEps(family, guesses);

        long[] pos = Shape("pos_embed");
        Require(pos.Length == 3 && pos[0] == 1 && pos[2] == dim, $"pos_embed is [{Join(pos)}], but a {dim}-wide model needs [1, tokens, {dim}]");
        int prefix = (classToken ? 1 : 0) + regTokens;
        var (grid, noEmbedClass) = GridOf(checked((int)pos[1]), prefix, hints.ImgSize is { } img ? new GridSize(img.Height / patch, img.Width / patch) : null);

        var config = baseConfig with
        {
            ImgSize = new GridSize(grid.Height * patch, grid.Width * patch),
            PatchSize = patch,
            InChans = inChans,
            NumClasses = numClasses,
            EmbedDim = dim,
            Depth = depth,
            NumHeads = heads,
            MlpRatio = (double)fc1[0] / dim,
            QkvBias = shapes.ContainsKey("blocks.0.attn.qkv.bias"),
            LayerNormEps = eps,
            ClassToken = classToken,
            RegTokens = regTokens,
            NoEmbedClass = noEmbedClass,
            GlobalPool = pool,
            // Null when timm's rule (fc_norm exactly for average pooling) already gives it, as in a written config.
            FcNorm = fcNorm == (pool == GlobalPool.Avg) ? null : fcNorm,
            InitValues = shapes.ContainsKey("blocks.0.ls1.gamma") ? baseConfig.InitValues ?? 1e-5 : null,
            PatchEmbed = stem is null ? PatchEmbedKind.Conv : PatchEmbedKind.ConvStem,
            ConvStem = stem,
            // A fixed sin-cos table is stored like a learned one; only a config can say to recompute it per grid.
            PosEmbed = hints.Config?.PosEmbed ?? PosEmbedKind.Learned,
            // A config file that names a semantics (VitSharp's export, a registered timm architecture) knows better than a family default.
            PosEmbedResampling = hints.Config?.PosEmbedResampling ?? family.RuntimeResampling(regTokens > 0),
        };
        try
        {
            return new InferredArchitecture(config.Validate(), guesses);
        }
        catch (ArgumentException e)
        {
            throw new CheckpointException($"the inferred architecture is not valid: {e.Message}");
        }
    }

    private const string ConvStemFirstKey = "patch_embed.backbone.0.conv.weight";

    /// <summary>
    /// The convolutional stem of a hybrid (timm <c>HybridEmbed</c> + <c>ConvStem</c>), from its config checked against
    /// the tensors. Strides and padding are in no tensor, so a hybrid loads only with its config (VitSharp writes it
    /// into the file's metadata and beside the file).
    /// </summary>
    private static ConvStemSpec StemOf(Dictionary<string, long[]> shapes, ArchitectureHints hints)
    {
        var stem = hints.Config?.ConvStem ?? throw new CheckpointException(
            "the checkpoint's patch embedding is a convolutional stem (patch_embed.backbone.*), whose strides and padding no tensor stores; " +
            "give its config (conv_stem in a JSON config beside the file or with --config)");
        int layers = shapes.Keys.Count(k => k.StartsWith("patch_embed.backbone.", StringComparison.Ordinal) && k.EndsWith(".conv.weight", StringComparison.Ordinal));
        if (layers != stem.Depth)
            throw new CheckpointException($"the checkpoint's convolutional stem has {layers} layers, its config {stem.Depth}");
        if (shapes[ConvStemFirstKey] is not { Length: 4 } first)
            throw new CheckpointException($"{ConvStemFirstKey} is [{Join(shapes[ConvStemFirstKey])}], not a conv kernel [out, in, k, k]");
        long inChannels = first[1];
        for (int i = 0; i < stem.Depth; i++)
        {
            long[] expected = [stem.Channels[i], inChannels, stem.KernelSizes[i], stem.KernelSizes[i]];
            long[] actual = shapes.GetValueOrDefault($"patch_embed.backbone.{i}.conv.weight") ?? [];
            if (!actual.SequenceEqual(expected))
                throw new CheckpointException($"patch_embed.backbone.{i}.conv.weight is [{Join(actual)}], but the config's stem needs [{Join(expected)}]");
            inChannels = stem.Channels[i];
        }
        if (stem.Proj != shapes.ContainsKey("patch_embed.proj.weight"))
            throw new CheckpointException(stem.Proj ? "the config's stem has a projection, but the checkpoint has no patch_embed.proj.weight" : "the checkpoint has a patch_embed.proj.weight, but the config's stem has no projection");
        return stem;
    }

    /// <summary>
    /// The grid of a table with <paramref name="rows"/> rows. The table either has a row per prefix token (most
    /// models) or none (timm's <c>no_embed_class</c>, DINOv2 with registers after folding); a known grid decides,
    /// otherwise the patch rows must form a square.
    /// </summary>
    private static (GridSize Grid, bool NoEmbedClass) GridOf(int rows, int prefix, GridSize? known)
    {
        if (known is { } g)
        {
            if (rows == g.Count + prefix) return (g, false);
            if (rows == g.Count && prefix > 0) return (g, true);
        }
        // The table decides when it can: a config for another size (an architecture named for 224 with a
        // 384 checkpoint) does not override the tensors.
        if (IsSquare(rows - prefix, out int side)) return (GridSize.Square(side), false);
        if (prefix > 0 && IsSquare(rows, out side)) return (GridSize.Square(side), true);
        throw new CheckpointException(known is { } k
            ? $"pos_embed has {rows} rows, which fits neither {prefix} prefix tokens + the configured {k} grid nor any square grid"
            : $"pos_embed has {rows} rows: with {prefix} prefix tokens that is not a square grid; give the image size (a config file beside the checkpoint, or --config)");
    }

    private static bool IsSquare(int n, out int side)
    {
        side = (int)Math.Round(Math.Sqrt(Math.Max(n, 0)));
        return n > 0 && side * side == n;
    }

    private static int GuessHeads(int dim, List<string> guesses)
    {
        if (HeadsByWidth.TryGetValue(dim, out int heads))
        {
            guesses.Add($"num_heads {heads} (the convention for {dim}-wide ViTs; not stored in the file)");
            return heads;
        }
        if (dim % 64 == 0)
        {
            guesses.Add($"num_heads {dim / 64} (64-wide heads, the ViT convention; not stored in the file)");
            return dim / 64;
        }
        throw new CheckpointException($"the number of attention heads of a {dim}-wide model is not stored in the file and no convention applies; give it (--num-heads N or a config file)");
    }

    private static double DefaultEps(CheckpointFamily family, List<string> guesses)
    {
        if (family == CheckpointFamily.HuggingFace)
        {
            guesses.Add("layer_norm_eps 1e-12 (transformers' ViTConfig default; no config.json beside the file)");
            return 1e-12;
        }
        // timm, DeiT, DINO, DINOv2 and torchvision all build their ViTs with LayerNorm(eps=1e-6).
        return 1e-6;
    }

    private static string Join(long[] shape) => string.Join(", ", shape);
}

/// <summary>An inferred architecture and the fields that were guessed by convention rather than read.</summary>
public sealed record InferredArchitecture(VitConfig Config, IReadOnlyList<string> Guesses);
