using TorchSharp;
using TorchSharp.Modules;
using VitSharp.Kernels;
using VitSharp.Modules;
using VitSharp.Native;
using VitSharp.PosEmbed;
using static TorchSharp.torch;

namespace VitSharp.Models;

/// <summary>
/// The Vision Transformer, laid out like timm's <c>VisionTransformer</c> so that its state_dict keys are timm's:
/// <c>patch_embed.proj</c>, <c>cls_token</c>, <c>reg_token</c>, <c>pos_embed</c>, <c>blocks.{i}.*</c>, <c>norm</c>,
/// <c>fc_norm</c>, <c>head</c>. It runs on any input height × width: the learned position embedding is resampled
/// to the input's patch grid with the family semantics of <see cref="PosEmbedResampling"/>. In evaluation mode the
/// resampled table is cached per grid; the cache is dropped on <c>train()</c>/<c>eval()</c>, on
/// <c>load_state_dict</c>, when <c>pos_embed</c> is replaced, and by <see cref="ClearPosEmbedCache"/>.
/// </summary>
public sealed class VisionTransformer : nn.Module<Tensor, Tensor>
{
    private readonly PatchEmbedding patch_embed;
    private readonly Parameter? cls_token;
    private readonly Parameter? reg_token;
    private Parameter pos_embed;
    private readonly Dropout pos_drop;
    private readonly Identity norm_pre;
    private readonly ModuleList<Block> blocks;
    private readonly nn.Module<Tensor, Tensor> norm;
    private readonly nn.Module<Tensor, Tensor> fc_norm;
    private readonly Dropout head_drop;
    private readonly nn.Module<Tensor, Tensor> head;

    private readonly PosEmbedCache posEmbedCache = new();

    public VisionTransformer(VitConfig config) : this(config, initializeWeights: true)
    {
    }

    /// <param name="config">The architecture.</param>
    /// <param name="initializeWeights">
    /// False skips timm's initialisation (truncated normals over every weight, seconds for a ViT-B) when a checkpoint
    /// is about to overwrite every parameter; <see cref="InitializeWeights"/> applies it later if one turns out missing.
    /// </param>
    internal VisionTransformer(VitConfig config, bool initializeWeights) : base(nameof(VisionTransformer))
    {
        TorchRuntime.EnsureLoaded();
        Config = config.Validate();
        PosEmbedResampling = config.PosEmbedResampling;
        int dim = config.EmbedDim;

        patch_embed = config.PatchEmbed switch
        {
            PatchEmbedKind.Conv => new PatchEmbed(config.InChans, config.PatchSize, dim, config.DynamicImgPad),
            PatchEmbedKind.Linear => new LinearPatchEmbed(config.InChans, config.PatchSize, dim, config.DynamicImgPad),
            _ => new HybridEmbed(config.InChans, config.ConvStem!, dim, config.DynamicImgPad),
        };
        cls_token = config.ClassToken ? nn.Parameter(zeros(1, 1, dim)) : null;
        reg_token = config.RegTokens > 0 ? nn.Parameter(zeros(1, config.RegTokens, dim)) : null;
        pos_embed = config.PosEmbed == PosEmbedKind.SinCos
            ? nn.Parameter(SinCosTable(config.GridSize), requires_grad: false)
            : nn.Parameter(zeros(1, config.PosEmbedTokens, dim));
        pos_drop = nn.Dropout(config.PosDropRate);
        norm_pre = nn.Identity();

        // Stochastic depth grows linearly with depth (timm, DeiT): block i drops with rate i/(depth-1) · drop_path_rate.
        var blockList = Enumerable.Range(0, config.Depth).Select(i => new Block(dim, config.NumHeads, config.MlpRatio, config.QkvBias,
            config.LayerNormEps, config.DropRate, config.AttnDropRate,
            config.Depth == 1 ? 0 : config.DropPathRate * i / (config.Depth - 1), config.InitValues));
        blocks = nn.ModuleList(blockList.ToArray());

        norm = config.UseFcNorm ? nn.Identity() : nn.LayerNorm(dim, config.LayerNormEps);
        fc_norm = config.UseFcNorm ? nn.LayerNorm(dim, config.LayerNormEps) : nn.Identity();
        head_drop = nn.Dropout(config.DropRate);
        head = config.NumClasses > 0 ? new LinearLayer(dim, config.NumClasses) : nn.Identity();
        RegisterComponents();
        if (initializeWeights) InitializeWeights();
    }

    /// <summary>timm's initialisation of every weight (see <see cref="VitInit"/>).</summary>
    internal void InitializeWeights() => VitInit.Apply(this, cls_token, reg_token, Config.PosEmbed == PosEmbedKind.Learned ? pos_embed : null);

    public VitConfig Config { get; private set; }

    /// <summary>The semantics used to resample the learned table for other input sizes. Changing it drops the cache.</summary>
    public PosEmbedResampling PosEmbedResampling { get; set; }

    public PatchEmbedding PatchEmbed => patch_embed;
    public IReadOnlyList<Block> Blocks => [.. blocks];
    public int NumPrefixTokens => Config.NumPrefixTokens;

    /// <summary>The learned (or fixed sin-cos) table at the native grid, <c>[1, tokens, D]</c>.</summary>
    public Parameter PosEmbedParameter => pos_embed;

    /// <summary>Logits <c>[B, classes]</c> (or pooled features when the model has no head).</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return ForwardHead(ForwardFeatures(x)).MoveToOuterDisposeScope();
    }

    /// <summary>All tokens after the final norm, <c>[B, prefix + h·w, D]</c>, for an input of any size.</summary>
    public Tensor ForwardFeatures(Tensor x)
    {
        using var scope = NewDisposeScope();
        x = Embed(x);
        foreach (var block in blocks) x = block.call(x);
        return norm.call(x).MoveToOuterDisposeScope();
    }

    /// <summary>Pools the final tokens (class token or patch mean), applies <c>fc_norm</c>, and the head unless <paramref name="preLogits"/>.</summary>
    public Tensor ForwardHead(Tensor features, bool preLogits = false)
    {
        using var scope = NewDisposeScope();
        var pooled = Config.GlobalPool == GlobalPool.Token
            ? features[.., 0]
            : features[.., NumPrefixTokens..].mean([1]);
        pooled = head_drop.call(fc_norm.call(pooled));
        var output = preLogits ? pooled : head.call(pooled);
        return output.MoveToOuterDisposeScope();
    }

    /// <summary>One pass giving the final tokens and the last block's attention probabilities <c>[B, heads, T, T]</c>.</summary>
    public (Tensor Features, Tensor LastSelfAttention) ForwardFeaturesWithAttention(Tensor x)
    {
        using var scope = NewDisposeScope();
        x = Embed(x);
        for (int i = 0; i < blocks.Count - 1; i++) x = blocks[i].call(x);
        var (last, attention) = blocks[^1].ForwardWithAttention(x);
        return (norm.call(last).MoveToOuterDisposeScope(), attention.MoveToOuterDisposeScope());
    }

    /// <summary>DINO's <c>get_last_selfattention</c>: the last block's attention probabilities <c>[B, heads, T, T]</c>.</summary>
    public Tensor GetLastSelfAttention(Tensor x)
    {
        var (features, attention) = ForwardFeaturesWithAttention(x);
        features.Dispose();
        return attention;
    }

    /// <summary>
    /// DINO's <c>get_intermediate_layers</c>: the outputs of the last <paramref name="n"/> blocks, in order, each
    /// through the final norm when <paramref name="applyNorm"/> (DINO always normalises; DINOv2 makes it optional).
    /// </summary>
    public IReadOnlyList<Tensor> GetIntermediateLayers(Tensor x, int n = 1, bool applyNorm = true)
    {
        if (n < 1 || n > blocks.Count) throw new ArgumentOutOfRangeException(nameof(n), $"n must be in 1..{blocks.Count}");
        using var scope = NewDisposeScope();
        var outputs = new List<Tensor>();
        x = Embed(x);
        for (int i = 0; i < blocks.Count; i++)
        {
            x = blocks[i].call(x);
            if (blocks.Count - i <= n) outputs.Add((applyNorm ? norm.call(x) : x).MoveToOuterDisposeScope());
        }
        return outputs;
    }

    /// <summary>
    /// The position table for a patch grid (and, for DINO-style skip rules, the image size): the native table, a
    /// resampled one (cached in evaluation mode), or the sin-cos table of that grid.
    /// </summary>
    public Tensor PosEmbedFor(GridSize grid, GridSize? image = null)
    {
        var table = PosEmbedTable(grid, image ?? new GridSize(grid.Height * Config.PatchSize, grid.Width * Config.PatchSize));
        return table.alias();
    }

    /// <summary>
    /// Makes <paramref name="imgSize"/> the native size (timm <c>set_input_size</c>): the learned table is resampled
    /// once, with the current semantics, and becomes the parameter. Use it before fine-tuning at a new resolution.
    /// </summary>
    public void SetInputSize(GridSize imgSize)
    {
        var newConfig = (Config with { ImgSize = imgSize }).Validate();
        using (no_grad())
        {
            var table = Config.PosEmbed == PosEmbedKind.SinCos
                ? SinCosTable(newConfig.GridSize).to(pos_embed.dtype, pos_embed.device)
                : ResampleLearned(newConfig.GridSize, image: null).clone();
            pos_embed = nn.Parameter(table, requires_grad: pos_embed.requires_grad);
        }
        ConditionallyRegisterParameter(nameof(pos_embed), pos_embed);
        Config = newConfig;
        ClearPosEmbedCache();
    }

    /// <summary>
    /// Whether every block's attention always runs the fused <c>scaled_dot_product_attention</c> kernel (true) or the
    /// explicit matmul-softmax-matmul path (false; timm's <c>fused_attn</c>). Setting it overrides the default
    /// <see cref="AttentionKernel"/> <c>Auto</c>, which picks between the two by sequence length.
    /// </summary>
    public bool FusedAttention
    {
        get => blocks.All(b => b.Attn.FusedAttention);
        set { foreach (var block in blocks) block.Attn.FusedAttention = value; }
    }

    /// <summary>Which code computes every block's attention (<see cref="Kernels.AttentionKernel"/>); all give the same function.</summary>
    public AttentionKernel AttentionKernel
    {
        get => blocks.Count == 0 ? AttentionKernel.Auto : blocks[0].Attn.Kernel;
        set { foreach (var block in blocks) block.Attn.Kernel = value; }
    }

    private LinearKernel linearKernel = LinearKernel.Auto;

    /// <summary>Which code computes every linear layer: the blocks' projections and MLPs and the head (<see cref="Kernels.LinearKernel"/>); all give the same function.</summary>
    public LinearKernel LinearKernel
    {
        get => linearKernel;
        set
        {
            linearKernel = value;
            foreach (var layer in LinearLayers()) layer.Kernel = value;
        }
    }

    /// <summary>
    /// Packs the weights of every linear layer (the blocks' <c>qkv</c>, <c>proj</c>, <c>fc1</c>, <c>fc2</c> and the
    /// head) once into oneDNN's layout, for inference on the CPU (<see cref="LinearLayer.Pack"/>): oneDNN then does not
    /// reorder each weight on every call (docs/kernels.md has what that saves). The packs take as much memory again as
    /// those weights. A layer runs from its pack only without gradients, with input of its dtype, at the thread count
    /// it was packed at, and while its weight tensor is the one packed; <c>train()</c> and <c>load_state_dict</c>
    /// drop the packs. <b>Changing weights in place by other means (an optimizer step in eval mode, an EMA update,
    /// <c>copy_</c>) is not noticed: call this again afterwards, or <see cref="UnpackLinearWeights"/>.</b>
    /// Returns how many layers it packed: 0 where packing is not available (a CPU other than x86-64, weights neither
    /// float32 nor bfloat16 on the CPU, bfloat16 on a CPU without its instructions), which leaves the model as it was.
    /// </summary>
    public int PackLinearWeights() => LinearLayers().Count(layer => layer.Pack());

    /// <summary>How many linear layers hold a pack of their current weight that may serve now (0 when none do).</summary>
    public int PackedLinearLayers => LinearLayers().Count(layer => layer.IsPacked);

    /// <summary>Drops the packs of <see cref="PackLinearWeights"/>, freeing their memory; the layers compute from their weights again.</summary>
    public void UnpackLinearWeights()
    {
        foreach (var layer in LinearLayers()) layer.Unpack();
    }

    private IEnumerable<LinearLayer> LinearLayers() => modules().OfType<LinearLayer>();

    /// <summary>Parameters that AdamW should not decay (timm <c>no_weight_decay</c>).</summary>
    public IReadOnlySet<string> NoWeightDecay() => new HashSet<string> { "pos_embed", "cls_token", "reg_token" };

    /// <summary>Drops cached resampled tables. Call it after changing <c>pos_embed</c> in place outside <c>load_state_dict</c>.</summary>
    public void ClearPosEmbedCache() => posEmbedCache.Clear();

    public override void train(bool train = true)
    {
        ClearPosEmbedCache();
        base.train(train); // each LinearLayer drops its pack on train(): training changes the weights in place
    }

    public override (IList<string> missing_keys, IList<string> unexpected_keyes) load_state_dict(Dictionary<string, Tensor> source, bool strict = true, IList<string>? skip = null)
    {
        ClearPosEmbedCache();
        UnpackLinearWeights();
        return base.load_state_dict(source, strict, skip);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            ClearPosEmbedCache();
            UnpackLinearWeights();
        }
        base.Dispose(disposing);
    }

    private int PosEmbedPrefixTokens => Config.NoEmbedClass ? 0 : NumPrefixTokens;

    /// <summary>Patch embedding, prefix tokens and position embedding (timm's <c>_pos_embed</c>), then <c>norm_pre</c>.</summary>
    private Tensor Embed(Tensor images)
    {
        var image = new GridSize(checked((int)images.shape[^2]), checked((int)images.shape[^1]));
        var tokens = patch_embed.call(images);
        var grid = patch_embed.GridFor(image);
        var table = PosEmbedTable(grid, image);
        long batch = tokens.shape[0];

        var prefix = new List<Tensor>();
        if (cls_token is not null) prefix.Add(cls_token.expand(batch, -1, -1));
        if (reg_token is not null) prefix.Add(reg_token.expand(batch, -1, -1));

        Tensor x;
        if (Config.NoEmbedClass)
        {
            // DeiT-III / DINOv2-reg: the table covers the patches only; prefix tokens are concatenated after.
            x = tokens.Plus(table);
            if (prefix.Count > 0) x = cat([.. prefix, x], dim: 1);
        }
        else
        {
            x = prefix.Count > 0 ? cat([.. prefix, tokens], dim: 1) : tokens;
            x = x.Plus(table);
        }
        return norm_pre.call(pos_drop.call(x));
    }

    private Tensor PosEmbedTable(GridSize grid, GridSize image)
    {
        if (Config.PosEmbed == PosEmbedKind.SinCos && grid == Config.GridSize) return pos_embed;
        if (Config.PosEmbed == PosEmbedKind.Learned && PosEmbedResampler.IsSkipped(PosEmbedResampling, Config.GridSize, grid, image)) return pos_embed;
        if (training && Config.PosEmbed == PosEmbedKind.Learned) return ResampleLearned(grid, image);

        var key = new PosEmbedCache.Key(pos_embed.Handle, pos_embed.device.ToString(), pos_embed.dtype, grid, image.IsSquare, PosEmbedResampling);
        return posEmbedCache.GetOrAdd(key, () => Config.PosEmbed == PosEmbedKind.SinCos
            ? SinCosTable(grid).to(pos_embed.dtype, pos_embed.device)
            : ResampleLearned(grid, image));
    }

    /// <summary>The learned table on <paramref name="grid"/>, from the native grid, with the current semantics.</summary>
    private Tensor ResampleLearned(GridSize grid, GridSize? image) =>
        PosEmbedResampler.Resample(pos_embed, Config.GridSize, grid, PosEmbedPrefixTokens, PosEmbedResampling, image);

    private Tensor SinCosTable(GridSize grid) => SinCosPosEmbed.Build(Config.EmbedDim, grid, PosEmbedPrefixTokens);
}
