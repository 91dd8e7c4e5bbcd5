using VitSharp.Benchmarking;
using VitSharp.Models;
using VitSharp.PosEmbed;
using VitSharp.Registry;

namespace VitSharp.Tests.Benchmarking;

/// <summary>The analytic operation count against the figures the DeiT paper (Table 1) publishes, which are multiply-adds.</summary>
public class VitFlopsTests
{
    [Theory]
    [InlineData("deit_tiny_patch16_224", 1.3)]
    [InlineData("deit_small_patch16_224", 4.6)]
    [InlineData("deit_base_patch16_224", 17.6)]
    public void Counts_twice_the_published_multiply_adds(string arch, double publishedGigaMacs)
    {
        double flops = VitFlops.PerImage(VitRegistry.Get(arch), GridSize.Square(224));
        // The paper rounds to one decimal: within half a unit of its last digit.
        Assert.InRange(flops / 2 / 1e9, publishedGigaMacs - 0.05, publishedGigaMacs + 0.05);
    }

    [Fact]
    public void More_tokens_cost_more_and_the_count_follows_the_grid_not_the_square()
    {
        var config = VitRegistry.Get("vit_small_patch16_224");
        double square = VitFlops.PerImage(config, GridSize.Square(224));
        double wide = VitFlops.PerImage(config, new GridSize(224, 448));
        double tall = VitFlops.PerImage(config, new GridSize(448, 224));
        Assert.Equal(wide, tall);
        Assert.True(wide > 2 * square, "twice the patches, and attention grows with their square");
    }

    [Fact]
    public void A_convolutional_stem_counts_its_convolutions()
    {
        var plain = new VitConfig { ImgSize = GridSize.Square(28), PatchSize = 4, InChans = 1, NumClasses = 10, EmbedDim = 64, Depth = 6, NumHeads = 4, MlpRatio = 2 };
        var hybrid = plain with { PatchEmbed = PatchEmbedKind.ConvStem, ConvStem = new ConvStemSpec([16, 32, 64], [2, 2, 1]) };
        double stem = VitFlops.PerImage(hybrid, GridSize.Square(28)) - VitFlops.PerImage(plain, GridSize.Square(28));
        // 14x14x16 (1 input channel), 7x7x32 (16 in), 7x7x64 (32 in), 3x3 kernels, minus the 4x4 patch projection.
        double expected = 2 * (14 * 14 * 16 * 1 * 9 + 7 * 7 * 32 * 16 * 9 + 7 * 7 * 64 * 32 * 9 - 7 * 7 * 64 * 1 * 16);
        Assert.Equal(expected, stem);
    }
}
