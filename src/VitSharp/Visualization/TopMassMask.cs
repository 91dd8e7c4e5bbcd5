namespace VitSharp.Visualization;

/// <summary>
/// DINO's thresholded attention (visualize_attention.py, <c>--threshold</c>): the smallest set of the largest
/// values that holds a given fraction of a map's total. DINO sorts ascending, takes the cumulative share and keeps
/// the cells whose cumulative share exceeds <c>1 - threshold</c>; the kept cells therefore hold at least
/// <c>threshold</c> of the mass.
/// </summary>
public static class TopMassMask
{
    /// <summary>The cells of <paramref name="map"/> kept at <paramref name="threshold"/> (0 to 1) of the mass.</summary>
    public static bool[,] Compute(float[,] map, double threshold)
    {
        ArgumentNullException.ThrowIfNull(map);
        if (threshold is < 0 or > 1 || double.IsNaN(threshold)) throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "the threshold is a fraction of the mass, 0 to 1");
        int rows = map.GetLength(0), columns = map.GetLength(1);
        var cells = Enumerable.Range(0, map.Length).Select(i => (Index: i, Value: Math.Max(0, map[i / columns, i % columns]))).ToArray();
        double total = cells.Sum(c => (double)c.Value);
        var mask = new bool[rows, columns];
        if (!(total > 0)) return mask;

        // Ascending, like torch.sort; the running share passes 1 - threshold at the first kept cell.
        var ascending = cells.OrderBy(c => c.Value).ToArray();
        double cumulative = 0;
        foreach (var (index, value) in ascending)
        {
            cumulative += value / total;
            if (cumulative > 1 - threshold) mask[index / columns, index % columns] = true;
        }
        return mask;
    }

    /// <summary>The share of <paramref name="map"/>'s total held by the cells <paramref name="mask"/> keeps.</summary>
    public static double KeptMass(float[,] map, bool[,] mask)
    {
        double total = 0, kept = 0;
        for (int r = 0; r < map.GetLength(0); r++)
            for (int c = 0; c < map.GetLength(1); c++)
            {
                double v = Math.Max(0, map[r, c]);
                total += v;
                if (mask[r, c]) kept += v;
            }
        return total > 0 ? kept / total : 0;
    }

    /// <summary>The number of cells kept.</summary>
    public static int Count(bool[,] mask) => mask.Cast<bool>().Count(k => k);
}
