using VitSharp.PosEmbed;
using static TorchSharp.torch;

namespace VitSharp.Visualization;

/// <summary>
/// DINO's attention maps (visualize_attention.py): for one image, how much the class token of the last block
/// attends to each patch, per head, laid out on the patch grid. Register tokens (and the class token itself) are
/// left out: only the attention to patch tokens is kept. A model without a class token has no such query, so its
/// maps are the mean over all patch queries instead (<see cref="FromClassToken"/> is false).
/// </summary>
public sealed class AttentionMaps
{
    private AttentionMaps(GridSize grid, float[][,] heads, bool fromClassToken)
    {
        Grid = grid;
        Heads = heads;
        FromClassToken = fromClassToken;
        Mean = new float[grid.Height, grid.Width];
        foreach (var head in heads)
            for (int r = 0; r < grid.Height; r++)
                for (int c = 0; c < grid.Width; c++)
                    Mean[r, c] += head[r, c] / heads.Length;
    }

    /// <summary>The patch grid the maps are laid out on (rows, columns).</summary>
    public GridSize Grid { get; }

    /// <summary>One map [rows, columns] per head: the attention probabilities to the patches, as the model gave them.</summary>
    public IReadOnlyList<float[,]> Heads { get; }

    /// <summary>The mean of the head maps.</summary>
    public float[,] Mean { get; }

    /// <summary>True when the maps are the class token's attention; false when they are the mean over patch queries.</summary>
    public bool FromClassToken { get; }

    /// <summary>
    /// The maps of image <paramref name="index"/> of a batch's last-block attention <c>[B, heads, T, T]</c>
    /// (<see cref="Models.VisionTransformer.GetLastSelfAttention"/>), with T = <paramref name="prefixTokens"/> + the
    /// patches of <paramref name="grid"/> in row-major order and, when <paramref name="classToken"/>, the class token first.
    /// </summary>
    public static AttentionMaps FromLastSelfAttention(Tensor attention, GridSize grid, int prefixTokens, bool classToken, int index = 0)
    {
        ArgumentNullException.ThrowIfNull(attention);
        if (attention.ndim != 4 || attention.shape[2] != attention.shape[3])
            throw new ArgumentException($"expected attention [B, heads, T, T], got [{string.Join(", ", attention.shape)}]", nameof(attention));
        long tokens = attention.shape[3];
        if (tokens != prefixTokens + grid.Count)
            throw new ArgumentException($"attention over {tokens} tokens does not match {prefixTokens} prefix tokens + a {grid} patch grid");

        using var scope = NewDisposeScope();
        var image = attention[index].detach().to(ScalarType.Float32).cpu();
        var patches = TensorIndex.Slice(prefixTokens);
        var toPatches = classToken
            ? image[TensorIndex.Colon, 0, patches]
            : image[TensorIndex.Colon, patches, patches].mean([1]);
        var perHead = toPatches.reshape(toPatches.shape[0], grid.Height, grid.Width);
        var heads = Enumerable.Range(0, (int)perHead.shape[0]).Select(h => HeatMap.ToArray(perHead[h])).ToArray();
        return new AttentionMaps(grid, heads, classToken);
    }

    /// <summary>All head maps as one tensor <c>[heads, rows, columns]</c>, for saving.</summary>
    public Tensor ToTensor() => stack(Heads.Select(ToTensor));

    /// <summary>One map as a tensor <c>[rows, columns]</c>.</summary>
    public static Tensor ToTensor(float[,] map)
    {
        var flat = new float[map.Length];
        Buffer.BlockCopy(map, 0, flat, 0, flat.Length * sizeof(float));
        return tensor(flat, [map.GetLength(0), map.GetLength(1)]);
    }

    /// <summary>
    /// Shannon entropy (nats) of a map taken as a distribution over the patches (normalised to sum 1): 0 when one
    /// patch takes all the attention, ln(patches) when it is spread evenly.
    /// </summary>
    public static double Entropy(float[,] map)
    {
        double total = 0;
        foreach (float v in map) total += v;
        if (!(total > 0)) return 0;
        double entropy = 0;
        foreach (float v in map)
        {
            if (v <= 0) continue;
            double p = v / total;
            entropy -= p * Math.Log(p);
        }
        return entropy;
    }
}
