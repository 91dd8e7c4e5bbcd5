using static TorchSharp.torch;

namespace VitSharp.PosEmbed;

/// <summary>
/// Fixed 2-D sine-cosine position embeddings as in MAE (<c>get_2d_sincos_pos_embed</c>) and simple ViT: the first
/// half of the channels encodes the column, the second half the row, each as <c>[sin(p·ω), cos(p·ω)]</c> with
/// <c>ω_k = 10000^(-k / (D/4))</c>. Computed in float64 like MAE's numpy code, returned as float32. Because it is a
/// function of the grid, it is exact at every resolution and needs no resampling.
/// </summary>
public static class SinCosPosEmbed
{
    /// <summary>The table <c>[1, prefixTokens + h·w, dim]</c>; prefix rows are zero (MAE's <c>cls_token=True</c>).</summary>
    public static Tensor Build(int dim, GridSize grid, int prefixTokens = 0)
    {
        if (dim <= 0 || dim % 4 != 0)
            throw new ArgumentException($"2-D sin-cos position embeddings need an embedding dim divisible by 4; got {dim}");
        int quarter = dim / 4;
        var omega = new double[quarter];
        for (int k = 0; k < quarter; k++) omega[k] = 1.0 / Math.Pow(10000.0, k / (double)quarter);

        var table = new float[(prefixTokens + grid.Count) * dim];
        for (int row = 0; row < grid.Height; row++)
        {
            for (int col = 0; col < grid.Width; col++)
            {
                int offset = (prefixTokens + row * grid.Width + col) * dim;
                // MAE builds np.meshgrid(grid_w, grid_h) and encodes grid[0] (the column) first.
                WriteSinCos(table, offset, col, omega);
                WriteSinCos(table, offset + 2 * quarter, row, omega);
            }
        }
        return tensor(table, [1, prefixTokens + grid.Count, dim]);
    }

    private static void WriteSinCos(float[] table, int offset, double position, double[] omega)
    {
        for (int k = 0; k < omega.Length; k++)
        {
            double angle = position * omega[k];
            table[offset + k] = (float)Math.Sin(angle);
            table[offset + omega.Length + k] = (float)Math.Cos(angle);
        }
    }
}
