using VitSharp.PosEmbed;

namespace VitSharp.Models;

/// <summary>How the final tokens become one feature vector.</summary>
public enum GlobalPool
{
    /// <summary>The class token (timm <c>global_pool='token'</c>).</summary>
    Token,

    /// <summary>The mean of the patch tokens, prefix tokens excluded (timm <c>global_pool='avg'</c>).</summary>
    Avg,
}

/// <summary>Which patch embedding to build: the seed's two, or a hybrid's convolutional stem.</summary>
public enum PatchEmbedKind
{
    /// <summary>Conv2d with kernel = stride = patch (timm, DINO, the seed's <c>PatchEmbed</c>).</summary>
    Conv,

    /// <summary>The seed's <c>patch_and_flatten</c> + Linear.</summary>
    Linear,

    /// <summary>A hybrid's convolutional stem (timm <c>HybridEmbed</c> + <c>ConvStem</c>), described by <see cref="VitConfig.ConvStem"/>.</summary>
    ConvStem,
}

/// <summary>The kind of absolute position embedding.</summary>
public enum PosEmbedKind
{
    /// <summary>A learned table, resampled to other grids (ViT, DeiT, DINO).</summary>
    Learned,

    /// <summary>Fixed 2-D sine-cosine (MAE, simple ViT), recomputed exactly for every grid.</summary>
    SinCos,
}

/// <summary>
/// The architecture of a <see cref="VisionTransformer"/>, with timm's <c>VisionTransformer</c> keyword arguments
/// as properties (JSON names in <see cref="VitConfigJson"/>). Defaults are timm's, which are also the seed's
/// ViT-B/16 shape; <see cref="VitSharp.Registry.VitRegistry"/> holds the named configurations.
/// </summary>
public sealed record VitConfig
{
    public GridSize ImgSize { get; init; } = GridSize.Square(224);
    public int PatchSize { get; init; } = 16;
    public int InChans { get; init; } = 3;

    /// <summary>Classes of the linear head; 0 builds no head (features only).</summary>
    public int NumClasses { get; init; } = 1000;
    public int EmbedDim { get; init; } = 768;
    public int Depth { get; init; } = 12;
    public int NumHeads { get; init; } = 12;
    public double MlpRatio { get; init; } = 4.0;
    public bool QkvBias { get; init; } = true;
    public double LayerNormEps { get; init; } = 1e-6;
    public bool ClassToken { get; init; } = true;

    /// <summary>Register tokens (timm <c>reg_tokens</c>, DINOv2 with registers).</summary>
    public int RegTokens { get; init; }

    /// <summary>timm <c>no_embed_class</c>: the position table covers only the patches; prefix tokens get none.</summary>
    public bool NoEmbedClass { get; init; }
    public GlobalPool GlobalPool { get; init; } = GlobalPool.Token;

    /// <summary>Put the final norm after pooling (<c>fc_norm</c>) instead of before it; null = timm's rule (on for avg pooling).</summary>
    public bool? FcNorm { get; init; }

    /// <summary>LayerScale initial value (timm <c>init_values</c>); null = no LayerScale.</summary>
    public double? InitValues { get; init; }
    public double DropRate { get; init; }
    public double PosDropRate { get; init; }
    public double AttnDropRate { get; init; }

    /// <summary>Stochastic depth rate of the last block; block i gets <c>i/(depth-1)</c> of it (linear schedule).</summary>
    public double DropPathRate { get; init; }
    public PatchEmbedKind PatchEmbed { get; init; } = PatchEmbedKind.Conv;

    /// <summary>The convolutional stem when <see cref="PatchEmbed"/> is <see cref="PatchEmbedKind.ConvStem"/>; <see cref="PatchSize"/> is then its total stride.</summary>
    public ConvStemSpec? ConvStem { get; init; }
    public PosEmbedKind PosEmbed { get; init; } = PosEmbedKind.Learned;

    /// <summary>How the learned position embedding is resampled for inputs of another size.</summary>
    public PosEmbedResampling PosEmbedResampling { get; init; } = PosEmbedResampling.Timm;

    /// <summary>timm <c>dynamic_img_pad</c>: zero-pad inputs up to a multiple of the patch size instead of refusing them.</summary>
    public bool DynamicImgPad { get; init; }

    public int NumPrefixTokens => (ClassToken ? 1 : 0) + RegTokens;

    /// <summary>The patch grid of the native image size: the grid the position table is laid out on.</summary>
    public GridSize GridSize => new(ImgSize.Height / PatchSize, ImgSize.Width / PatchSize);

    public bool UseFcNorm => FcNorm ?? GlobalPool == GlobalPool.Avg;

    /// <summary>Rows of the learned table: the patches, plus the prefix tokens unless <see cref="NoEmbedClass"/>.</summary>
    public int PosEmbedTokens => GridSize.Count + (NoEmbedClass ? 0 : NumPrefixTokens);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first inconsistency.</summary>
    public VitConfig Validate()
    {
        static void Require(bool ok, string message)
        {
            if (!ok) throw new ArgumentException($"invalid ViT configuration: {message}");
        }
        Require(PatchSize > 0, $"patch_size must be positive, got {PatchSize}");
        Require(ImgSize.Height >= PatchSize && ImgSize.Width >= PatchSize, $"img_size {ImgSize} is smaller than one patch of {PatchSize}");
        Require(ImgSize.Height % PatchSize == 0 && ImgSize.Width % PatchSize == 0, $"img_size {ImgSize} is not divisible by patch_size {PatchSize}");
        SizeLimits.CheckGrid(new GridSize(ImgSize.Height / PatchSize, ImgSize.Width / PatchSize), $"img_size {ImgSize} with patch_size {PatchSize}");
        Require(InChans > 0, $"in_chans must be positive, got {InChans}");
        Require(NumClasses >= 0, $"num_classes must be >= 0, got {NumClasses}");
        Require(EmbedDim > 0 && Depth > 0 && NumHeads > 0, "embed_dim, depth and num_heads must be positive");
        Require(EmbedDim % NumHeads == 0, $"embed_dim {EmbedDim} is not divisible by num_heads {NumHeads}");
        Require(MlpRatio > 0, $"mlp_ratio must be positive, got {MlpRatio}");
        Require(LayerNormEps > 0, $"layer_norm_eps must be positive, got {LayerNormEps}");
        Require(RegTokens >= 0, $"reg_tokens must be >= 0, got {RegTokens}");
        Require(GlobalPool != GlobalPool.Token || ClassToken, "global_pool 'token' needs a class token");
        if (PatchEmbed == PatchEmbedKind.ConvStem)
        {
            Require(ConvStem is not null, "patch_embed 'conv_stem' needs a conv_stem description");
            ConvStem!.Validate(EmbedDim);
            Require(ConvStem.TotalStride == PatchSize, $"the convolutional stem's strides multiply to {ConvStem.TotalStride}, but patch_size (pixels per token) is {PatchSize}");
        }
        Require(PosEmbed != PosEmbedKind.SinCos || EmbedDim % 4 == 0, $"sin-cos position embeddings need embed_dim divisible by 4, got {EmbedDim}");
        foreach (var (name, rate) in new[] { ("drop_rate", DropRate), ("pos_drop_rate", PosDropRate), ("attn_drop_rate", AttnDropRate), ("drop_path_rate", DropPathRate) })
            Require(rate is >= 0 and < 1, $"{name} must be in [0, 1), got {rate}");
        return this;
    }
}
