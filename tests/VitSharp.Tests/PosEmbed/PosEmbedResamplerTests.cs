using VitSharp.PosEmbed;
using static TorchSharp.torch;

namespace VitSharp.Tests.PosEmbed;

public class PosEmbedResamplerTests
{
    [Fact]
    public void Same_grid_returns_the_table_itself()
    {
        using var table = randn(1, 1 + 12 * 16, 8);
        var result = PosEmbedResampler.Resample(table, new GridSize(12, 16), new GridSize(12, 16), 1, PosEmbedResampling.Timm);
        Assert.Same(table, result);
    }

    [Fact]
    public void Dino_resamples_an_unchanged_grid_when_the_image_is_not_square()
    {
        // DINO skips only when npatch == N and w == h: a 224x230 image keeps the 14x14 grid but is still interpolated.
        using var table = randn(1, 1 + 14 * 14, 8);
        using var result = PosEmbedResampler.Resample(table, GridSize.Square(14), GridSize.Square(14), 1, PosEmbedResampling.DinoV1, new GridSize(224, 230));
        Assert.NotSame(table, result);
        Assert.True(Fixtures.MaxAbsDiff(result, table) > 1e-3);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(5)]
    public void Prefix_tokens_are_copied_unchanged(int prefix)
    {
        using var table = randn(1, prefix + 6 * 4, 8);
        using var result = PosEmbedResampler.Resample(table, new GridSize(6, 4), new GridSize(9, 5), prefix, PosEmbedResampling.Timm);
        Assert.Equal(new long[] { 1, prefix + 45, 8 }, result.shape);
        if (prefix > 0) Assert.Equal(0, Fixtures.MaxAbsDiff(result[.., ..prefix], table[.., ..prefix]));
    }

    [Fact]
    public void A_table_that_does_not_match_its_grid_is_refused()
    {
        using var table = randn(1, 1 + 196, 8);
        var error = Assert.Throws<ArgumentException>(() => PosEmbedResampler.Resample(table, new GridSize(12, 16), GridSize.Square(7), 1, PosEmbedResampling.Timm));
        Assert.Contains("197 tokens", error.Message);
    }

    [Fact]
    public void Resampling_is_differentiable()
    {
        using var table = randn(1, 1 + 16, 4).requires_grad_();
        using var result = PosEmbedResampler.Resample(table, GridSize.Square(4), new GridSize(6, 3), 1, PosEmbedResampling.DinoV1);
        result.sum().backward();
        Assert.NotNull(table.grad);
        Assert.True(table.grad!.abs().sum().item<float>() > 0);
    }

    [Fact]
    public void Presets_are_found_by_name_and_unknown_names_list_them()
    {
        Assert.Same(PosEmbedResampling.DinoV1, PosEmbedResampling.FromName("DINOv1"));
        Assert.Same(PosEmbedResampling.DinoV2Reg, PosEmbedResampling.FromName("dinov2-reg"));
        var error = Assert.Throws<ArgumentException>(() => PosEmbedResampling.FromName("deit"));
        Assert.Contains("torchvision", error.Message);
    }

    [Fact]
    public void Nearest_drops_antialias_and_align_corners()
    {
        var how = PosEmbedResampling.TorchVision.WithMode(PosEmbedInterpolation.Nearest);
        Assert.False(how.Antialias);
        Assert.Null(how.AlignCorners);
    }
}
