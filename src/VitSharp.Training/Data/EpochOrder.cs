namespace VitSharp.Training.Data;

/// <summary>The order of the dataset in one epoch: a Fisher–Yates shuffle drawn from (seed, epoch) alone, or 0..N-1.</summary>
internal static class EpochOrder
{
    public static int[] For(int count, bool shuffle, int seed, int epoch)
    {
        var order = new int[count];
        for (int i = 0; i < count; i++) order[i] = i;
        if (!shuffle) return order;
        var rng = CounterRng.For(seed, epoch, CounterRng.Purpose.Order, 0);
        for (int i = count - 1; i > 0; i--)
        {
            int j = rng.Next(0, i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order;
    }
}
