using VitSharp.PosEmbed;
using VitSharp.Visualization;
using static TorchSharp.torch;

namespace VitSharp.Tests.Visualization;

public class AttentionMapsTests
{
    [Fact]
    public void Class_token_rows_skip_the_prefix_tokens_and_follow_the_grid()
    {
        // 1 class + 2 registers + a 2x3 grid; attention[0, h, q, k] = 100 h + 10 q + k, easy to read back.
        var grid = new GridSize(2, 3);
        using var attention = (arange(2).reshape(1, 2, 1, 1) * 100 + arange(9).reshape(1, 1, 9, 1) * 10 + arange(9).reshape(1, 1, 1, 9)).to(ScalarType.Float32);
        var maps = AttentionMaps.FromLastSelfAttention(attention, grid, prefixTokens: 3, classToken: true);
        Assert.True(maps.FromClassToken);
        Assert.Equal(2, maps.Heads.Count);
        Assert.Equal(3f, maps.Heads[0][0, 0]);
        Assert.Equal(108f, maps.Heads[1][1, 2]);
        Assert.Equal(55f, maps.Mean[0, 2]);
        using var stacked = maps.ToTensor();
        Assert.Equal(new long[] { 2, 2, 3 }, stacked.shape);
    }

    [Fact]
    public void Without_a_class_token_the_patch_queries_are_averaged()
    {
        using var attention = softmax(randn(1, 3, 4, 4), -1);
        var maps = AttentionMaps.FromLastSelfAttention(attention, new GridSize(2, 2), prefixTokens: 0, classToken: false);
        Assert.False(maps.FromClassToken);
        using var expected = attention[0, 1].mean([0]);
        Assert.Equal(expected[3].item<float>(), maps.Heads[1][1, 1], 5);
    }

    [Fact]
    public void A_token_count_that_does_not_fit_the_grid_is_refused()
    {
        using var attention = zeros(1, 1, 5, 5);
        Assert.Throws<ArgumentException>(() => AttentionMaps.FromLastSelfAttention(attention, new GridSize(3, 3), 1, true));
    }

    [Fact]
    public void Entropy_is_zero_for_one_patch_and_log_n_for_an_even_spread()
    {
        Assert.Equal(0, AttentionMaps.Entropy(new float[,] { { 0, 0.7f }, { 0, 0 } }), 12);
        Assert.Equal(Math.Log(6), AttentionMaps.Entropy(new float[,] { { 1, 1, 1 }, { 1, 1, 1 } }), 6);
    }

    [Theory]
    [InlineData(0.6)]
    [InlineData(0.9)]
    [InlineData(0.1)]
    public void The_top_mass_mask_keeps_at_least_the_threshold_with_as_few_patches_as_possible(double threshold)
    {
        var random = new Random(7);
        for (int trial = 0; trial < 20; trial++)
        {
            var map = new float[7, 9];
            for (int r = 0; r < 7; r++)
                for (int c = 0; c < 9; c++)
                    map[r, c] = (float)Math.Pow(random.NextDouble(), 4);
            var mask = TopMassMask.Compute(map, threshold);
            double kept = TopMassMask.KeptMass(map, mask);
            Assert.True(kept >= threshold - 1e-6, $"kept {kept} < {threshold}");

            // Dropping the smallest kept patch must fall below the threshold: the set is minimal, and it is the top of the sort.
            var keptValues = map.Cast<float>().Zip(mask.Cast<bool>()).Where(p => p.Second).Select(p => p.First).ToList();
            double total = map.Cast<float>().Sum(v => (double)v);
            Assert.True(kept - keptValues.Min() / total < threshold + 1e-6);
            Assert.True(map.Cast<float>().Zip(mask.Cast<bool>()).Where(p => !p.Second).All(p => p.First <= keptValues.Min()));
        }
    }

    [Fact]
    public void The_top_mass_mask_matches_a_hand_worked_example()
    {
        // Shares 0.5, 0.25, 0.15, 0.1: at 0.6 DINO keeps the cells whose ascending running share exceeds 0.4.
        var mask = TopMassMask.Compute(new float[,] { { 5, 1 }, { 2.5f, 1.5f } }, 0.6);
        Assert.Equal(new bool[,] { { true, false }, { true, false } }, mask);
        Assert.Equal(2, TopMassMask.Count(mask));
    }
}
