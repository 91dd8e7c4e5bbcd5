using TorchSharp;
using TorchSharp.Modules;
using VitSharp.Native;
using static TorchSharp.torch;

namespace VitSharp.Modules;

/// <summary>
/// A pre-norm transformer block (timm <c>Block</c>):
/// <c>x + drop_path1(ls1(attn(norm1(x))))</c>, then <c>x + drop_path2(ls2(mlp(norm2(x))))</c>.
/// LayerScale and DropPath are identities when off, so the state_dict keys stay those of timm.
/// </summary>
public sealed class Block : nn.Module<Tensor, Tensor>
{
    private readonly LayerNorm norm1;
    private readonly Attention attn;
    private readonly nn.Module<Tensor, Tensor> ls1;
    private readonly DropPath drop_path1;
    private readonly LayerNorm norm2;
    private readonly Mlp mlp;
    private readonly nn.Module<Tensor, Tensor> ls2;
    private readonly DropPath drop_path2;

    public Block(long dim, int numHeads, double mlpRatio, bool qkvBias, double layerNormEps,
        double projDropRate, double attnDropRate, double dropPathRate, double? layerScaleInit) : base(nameof(Block))
    {
        norm1 = nn.LayerNorm(dim, layerNormEps);
        attn = new Attention(dim, numHeads, qkvBias, attnDropRate, projDropRate);
        ls1 = layerScaleInit is { } init1 ? new LayerScale(dim, init1) : nn.Identity();
        drop_path1 = new DropPath(dropPathRate);
        norm2 = nn.LayerNorm(dim, layerNormEps);
        mlp = new Mlp(dim, (long)(dim * mlpRatio), projDropRate);
        ls2 = layerScaleInit is { } init2 ? new LayerScale(dim, init2) : nn.Identity();
        drop_path2 = new DropPath(dropPathRate);
        RegisterComponents();
    }

    public Attention Attn => attn;

    public Mlp Mlp => mlp;

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        x = x.Plus(drop_path1.call(ls1.call(attn.call(norm1.call(x)))));
        x = x.Plus(drop_path2.call(ls2.call(mlp.call(norm2.call(x)))));
        return x.MoveToOuterDisposeScope();
    }

    /// <summary>The block output and its attention probabilities (DINO's <c>return_attention</c> path).</summary>
    public (Tensor Output, Tensor Attention) ForwardWithAttention(Tensor x)
    {
        using var scope = NewDisposeScope();
        var (attended, probabilities) = attn.ForwardWithAttention(norm1.call(x));
        x = x.Plus(drop_path1.call(ls1.call(attended)));
        x = x.Plus(drop_path2.call(ls2.call(mlp.call(norm2.call(x)))));
        return (x.MoveToOuterDisposeScope(), probabilities.MoveToOuterDisposeScope());
    }
}
